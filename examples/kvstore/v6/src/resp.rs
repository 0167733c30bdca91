//! RESP2, the protocol of Redis: requests in, replies out.
//!
//! Plain functions, not updateable: the wire format is the same in every version. (A change
//! here would reach only the callers that the patch replaces for reasons of their own.)

use std::io::Write;

/// The longest argument a request may carry, as in Redis: 512 MB.
const MAX_BULK: usize = 512 * 1024 * 1024;
/// The most arguments a request may carry, as in Redis.
const MAX_ARGS: usize = 1024 * 1024;
/// The longest line: an inline request, or the header of an array or an argument.
const MAX_LINE: usize = 64 * 1024;

/// What the start of the input holds.
pub enum Parsed<'a> {
    /// A request (its arguments, the command first; none for an empty request) and how many
    /// bytes of the input it took.
    Request(Vec<&'a [u8]>, usize),
    /// The input ends in the middle of a request: read more.
    Incomplete,
    /// The input is not RESP: answer the error and close the connection.
    Invalid(String),
}

/// Parses the request at the start of `input`: an array of bulk strings, as clients send, or
/// an inline request, a line of words, as typed into telnet.
pub fn parse(input: &[u8]) -> Parsed<'_> {
    match input.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_array(input),
        Some(_) => parse_inline(input),
    }
}

fn parse_array(input: &[u8]) -> Parsed<'_> {
    let Some((header, mut at)) = line(input, 0) else { return incomplete(input) };
    let count = match number(&header[1..]) {
        Some(count) if count <= MAX_ARGS as i64 => count,
        _ => return Parsed::Invalid("invalid multibulk length".to_owned()),
    };
    // `*0` and `*-1` are no request at all.
    let count = usize::try_from(count).unwrap_or(0);
    // A hostile count must not allocate by itself: the arguments have to arrive first.
    let mut args = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let Some((header, start)) = line(input, at) else { return incomplete(&input[at..]) };
        if header.first() != Some(&b'$') {
            let got = header.first().map_or('?', |&byte| byte as char);
            return Parsed::Invalid(format!("expected '$', got '{got}'"));
        }
        let len = match number(&header[1..]) {
            Some(len) if (0..=MAX_BULK as i64).contains(&len) => len as usize,
            _ => return Parsed::Invalid("invalid bulk length".to_owned()),
        };
        let end = start + len;
        if input.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &input[end..end + 2] != b"\r\n" {
            return Parsed::Invalid("bulk string not terminated by CRLF".to_owned());
        }
        args.push(&input[start..end]);
        at = end + 2;
    }
    Parsed::Request(args, at)
}

fn parse_inline(input: &[u8]) -> Parsed<'_> {
    let Some((text, used)) = line(input, 0) else { return incomplete(input) };
    let args = text.split(u8::is_ascii_whitespace).filter(|word| !word.is_empty()).collect();
    Parsed::Request(args, used)
}

/// The line that starts at `from`, without its line end, and where the next one starts.
fn line(input: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let end = from + input[from..].iter().take(MAX_LINE + 2).position(|&byte| byte == b'\n')?;
    let text = &input[from..end];
    Some((text.strip_suffix(b"\r").unwrap_or(text), end + 1))
}

/// Input with no line end yet: more may come, unless the line is already too long.
fn incomplete(rest: &[u8]) -> Parsed<'_> {
    if rest.len() > MAX_LINE {
        Parsed::Invalid("too big request line".to_owned())
    } else {
        Parsed::Incomplete
    }
}

/// A decimal integer, as RESP writes lengths and as commands take numbers.
pub fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// `+OK`
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// A status line, such as `+PONG`.
pub fn simple(out: &mut Vec<u8>, text: &str) {
    out.push(b'+');
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// An error. `message` starts with its code, as in `ERR syntax error`; a line end in it would
/// break the protocol and becomes a space.
pub fn error(out: &mut Vec<u8>, message: &str) {
    out.push(b'-');
    out.extend(
        message.bytes().map(|byte| if byte == b'\r' || byte == b'\n' { b' ' } else { byte }),
    );
    out.extend_from_slice(b"\r\n");
}

/// The error for a command called with the wrong number of arguments.
pub fn wrong_arity(out: &mut Vec<u8>, command: &str) {
    error(out, &format!("ERR wrong number of arguments for '{command}' command"));
}

/// An integer.
pub fn integer(out: &mut Vec<u8>, value: i64) {
    let _ = write!(out, ":{value}\r\n");
}

/// A bulk string.
pub fn bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    let _ = write!(out, "${}\r\n", bytes.len());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// The null bulk string: no such key.
pub fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `len` replies, which follow it.
pub fn array(out: &mut Vec<u8>, len: usize) {
    let _ = write!(out, "*{len}\r\n");
}
