//! The protocol: RESP2, the protocol of Redis, as `redis-cli`, `redis-benchmark` and the Redis
//! client libraries speak it. Requests are arrays of bulk strings, or inline lines of words;
//! replies and messages are written into a buffer that the connection's loop sends.
//!
//! The same in every version: it is plain code that the updateable functions call.

/// The longest request taken, all its arguments together, and the most arguments: a client
/// that sends more is answered an error and cut off.
pub const MAX_REQUEST: usize = 1 << 20;
const MAX_ARGS: usize = 1 << 16;

/// The longest line of a length (`*2`, `$5`), and of an inline request.
const MAX_LENGTH_LINE: usize = 32;
const MAX_INLINE: usize = 64 * 1024;

/// How far the parse of a request that is not whole yet got: the arguments read so far, how
/// many there are to be, and where in the buffer the parse goes on. A connection keeps it
/// between reads, so that a request that comes in pieces is read once, not again from its
/// start at each piece.
#[derive(dsu::Fingerprint, Default, Debug)]
pub struct Progress {
    args: Vec<Vec<u8>>,
    /// The arguments of the array being read; `None` before its header, or for an inline
    /// request, whose `at` is how far the search for its end got.
    expected: Option<usize>,
    at: usize,
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A whole request, its arguments, and how many bytes it took.
    Request(Vec<Vec<u8>>, usize),
    /// The start of a request: read more, and parse the same buffer, grown, with the same
    /// progress.
    Incomplete,
    /// Not RESP, or too long: answer the error and close the connection.
    Invalid(&'static str),
}

/// Parses the first request in `input`, going on from `progress`.
pub fn parse(input: &[u8], progress: &mut Progress) -> Parsed {
    let parsed = match input.first() {
        None => return Parsed::Incomplete,
        Some(b'*') => parse_array(input, progress),
        Some(_) => parse_inline(input, progress),
    };
    if !matches!(parsed, Parsed::Incomplete) {
        *progress = Progress::default();
    }
    parsed
}

fn parse_array(input: &[u8], progress: &mut Progress) -> Parsed {
    let count = match progress.expected {
        Some(count) => count,
        None => {
            let (count, next) = match length_line(input, 1) {
                Ok(Some(line)) => line,
                Ok(None) => return Parsed::Incomplete,
                Err(invalid) => return invalid,
            };
            if count > MAX_ARGS {
                return Parsed::Invalid("invalid multibulk length");
            }
            progress.args = Vec::with_capacity(count.min(64));
            progress.expected = Some(count);
            progress.at = next;
            count
        }
    };
    while progress.args.len() < count {
        let at = progress.at;
        match input.get(at) {
            None => return Parsed::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parsed::Invalid("expected '$'"),
        }
        let (length, start) = match length_line(input, at + 1) {
            Ok(Some(line)) => line,
            Ok(None) => return Parsed::Incomplete,
            Err(invalid) => return invalid,
        };
        if start + length > MAX_REQUEST {
            return Parsed::Invalid("request too long");
        }
        let end = start + length;
        if input.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &input[end..end + 2] != b"\r\n" {
            return Parsed::Invalid("a bulk string longer than its length");
        }
        progress.args.push(input[start..end].to_vec());
        progress.at = end + 2;
    }
    Parsed::Request(std::mem::take(&mut progress.args), progress.at)
}

fn parse_inline(input: &[u8], progress: &mut Progress) -> Parsed {
    let Some(found) = input[progress.at..].iter().position(|&byte| byte == b'\n') else {
        progress.at = input.len();
        return if input.len() > MAX_INLINE {
            Parsed::Invalid("inline request too long")
        } else {
            Parsed::Incomplete
        };
    };
    let end = progress.at + found;
    if end > MAX_INLINE {
        return Parsed::Invalid("inline request too long");
    }
    let text = input[..end].strip_suffix(b"\r").unwrap_or(&input[..end]);
    let args = text
        .split(|byte| byte.is_ascii_whitespace())
        .filter(|word| !word.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    Parsed::Request(args, end + 1)
}

/// The number on the line from `from` to the next `\r\n` (a length), and where the line after
/// it starts; `None` while the line is not whole.
fn length_line(input: &[u8], from: usize) -> Result<Option<(usize, usize)>, Parsed> {
    let rest = input.get(from..).unwrap_or_default();
    let Some(end) = rest.windows(2).position(|pair| pair == b"\r\n") else {
        return if rest.len() > MAX_LENGTH_LINE {
            Err(Parsed::Invalid("invalid length"))
        } else {
            Ok(None)
        };
    };
    let digits = &rest[..end];
    let valid = !digits.is_empty() && digits.len() <= 10 && digits.iter().all(u8::is_ascii_digit);
    let number = valid.then(|| std::str::from_utf8(digits).ok()?.parse().ok()).flatten();
    match number {
        Some(number) => Ok(Some((number, from + end + 2))),
        None => Err(Parsed::Invalid("invalid length")),
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
