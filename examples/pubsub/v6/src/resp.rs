//! The protocol: RESP2, the protocol of Redis, as `redis-cli`, `redis-benchmark` and the Redis
//! client libraries speak it. Requests are arrays of bulk strings, or inline lines of words;
//! replies and messages are written into a buffer that the connection's loop sends.
//!
//! The same in every version: it is plain code that the updateable functions call.

/// The longest request taken, and the most arguments: a client that sends more is cut off.
const MAX_REQUEST: usize = 1 << 20;
const MAX_ARGS: usize = 1 << 16;

/// What the start of a buffer holds.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A whole request, its arguments, and how many bytes it took.
    Request(Vec<Vec<u8>>, usize),
    /// The start of a request: read more.
    Incomplete,
    /// Not RESP: answer the error and close the connection.
    Invalid(&'static str),
}

/// Parses the first request in `input`.
pub fn parse(input: &[u8]) -> Parsed {
    match input.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_array(input),
        Some(_) => parse_inline(input),
    }
}

fn parse_array(input: &[u8]) -> Parsed {
    let Some((count, mut at)) = line(input, 1) else { return incomplete(input) };
    let Some(count) = number(count).filter(|&count| count <= MAX_ARGS) else {
        return Parsed::Invalid("invalid multibulk length");
    };
    let mut args = Vec::with_capacity(count);
    for _ in 0..count {
        match input.get(at) {
            None => return incomplete(input),
            Some(b'$') => {}
            Some(_) => return Parsed::Invalid("expected '$'"),
        }
        let Some((length, start)) = line(input, at + 1) else { return incomplete(input) };
        let Some(length) = number(length).filter(|&length| length <= MAX_REQUEST) else {
            return Parsed::Invalid("invalid bulk length");
        };
        let end = start + length;
        if input.len() < end + 2 {
            return incomplete(input);
        }
        if &input[end..end + 2] != b"\r\n" {
            return Parsed::Invalid("a bulk string longer than its length");
        }
        args.push(input[start..end].to_vec());
        at = end + 2;
    }
    Parsed::Request(args, at)
}

fn parse_inline(input: &[u8]) -> Parsed {
    let Some(end) = input.iter().position(|&byte| byte == b'\n') else { return incomplete(input) };
    let text = input[..end].strip_suffix(b"\r").unwrap_or(&input[..end]);
    let args = text
        .split(|byte| byte.is_ascii_whitespace())
        .filter(|word| !word.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    Parsed::Request(args, end + 1)
}

/// The text from `from` to the next `\r\n`, and where the line after it starts.
fn line(input: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let rest = input.get(from..)?;
    let end = rest.windows(2).position(|pair| pair == b"\r\n")?;
    Some((&rest[..end], from + end + 2))
}

fn number(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

fn incomplete(input: &[u8]) -> Parsed {
    if input.len() > MAX_REQUEST {
        Parsed::Invalid("request too long")
    } else {
        Parsed::Incomplete
    }
}

pub fn simple(output: &mut Vec<u8>, text: &str) {
    output.extend_from_slice(format!("+{text}\r\n").as_bytes());
}

pub fn error(output: &mut Vec<u8>, text: &str) {
    let text = text.replace(['\r', '\n'], " ");
    output.extend_from_slice(format!("-{text}\r\n").as_bytes());
}

pub fn integer(output: &mut Vec<u8>, value: u64) {
    output.extend_from_slice(format!(":{value}\r\n").as_bytes());
}

pub fn bulk(output: &mut Vec<u8>, value: &[u8]) {
    output.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
    output.extend_from_slice(value);
    output.extend_from_slice(b"\r\n");
}

pub fn null(output: &mut Vec<u8>) {
    output.extend_from_slice(b"$-1\r\n");
}

pub fn array(output: &mut Vec<u8>, length: usize) {
    output.extend_from_slice(format!("*{length}\r\n").as_bytes());
}
