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

/// How far the parse of a request that is not whole yet got, kept from one read to the next:
/// a long request that arrives in many pieces is then read once, not again from its start
/// at each piece.
#[derive(Default, dsu::Fingerprint)]
pub struct Progress {
    /// The arguments of the array read so far, as ranges of the input.
    args: Vec<(usize, usize)>,
    /// How many arguments the array has; 0 before its header is read.
    count: usize,
    /// Where the next argument's header starts.
    next: usize,
    /// Where the search for the end of the line being read goes on.
    scan: usize,
}

/// Parses the request at the start of `input`: an array of bulk strings, as clients send, or
/// an inline request, a line of words, as typed into telnet. `progress` carries what an
/// earlier call read of a request that was not whole; the input must start where it did.
pub fn parse<'a>(input: &'a [u8], progress: &mut Progress) -> Parsed<'a> {
    let parsed = match input.first() {
        None => Parsed::Incomplete,
        Some(b'*') => parse_array(input, progress),
        Some(_) => parse_inline(input, progress),
    };
    if !matches!(parsed, Parsed::Incomplete) {
        *progress = Progress::default();
    }
    parsed
}

fn parse_array<'a>(input: &'a [u8], progress: &mut Progress) -> Parsed<'a> {
    if progress.count == 0 {
        let Some((header, at)) = line(input, 0, &mut progress.scan) else {
            return incomplete(input);
        };
        let count = match number(&header[1..]) {
            Some(count) if count <= MAX_ARGS as i64 => count,
            _ => return Parsed::Invalid("invalid multibulk length".to_owned()),
        };
        // `*0` and `*-1` are no request at all.
        if count <= 0 {
            return Parsed::Request(Vec::new(), at);
        }
        // A hostile count must not allocate by itself: the arguments have to arrive first.
        let args = Vec::with_capacity(64);
        *progress = Progress { args, count: count as usize, next: at, scan: at };
    }
    while progress.args.len() < progress.count {
        let at = progress.next;
        let Some((header, start)) = line(input, at, &mut progress.scan) else {
            return incomplete(&input[at..]);
        };
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
        progress.args.push((start, end));
        progress.next = end + 2;
        progress.scan = end + 2;
    }
    let args = progress.args.iter().map(|&(start, end)| &input[start..end]).collect();
    Parsed::Request(args, progress.next)
}

fn parse_inline<'a>(input: &'a [u8], progress: &mut Progress) -> Parsed<'a> {
    let Some((text, used)) = line(input, 0, &mut progress.scan) else { return incomplete(input) };
    let args = text.split(u8::is_ascii_whitespace).filter(|word| !word.is_empty()).collect();
    Parsed::Request(args, used)
}

/// The line that starts at `from`, without its line end, and where the next one starts. The
/// search for the line end starts at `scanned`, which it moves on when it finds none.
fn line<'a>(input: &'a [u8], from: usize, scanned: &mut usize) -> Option<(&'a [u8], usize)> {
    let start = (*scanned).max(from);
    let limit = (from + MAX_LINE + 2).min(input.len());
    let Some(found) = input[start.min(limit)..limit].iter().position(|&byte| byte == b'\n') else {
        *scanned = limit;
        return None;
    };
    let end = start + found;
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

/// A decimal integer written as Redis writes them: an optional `-`, then digits without
/// leading zeros (`0` alone excepted), within 64 bits. `+5`, `007` and `-0` are not numbers.
pub fn number(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let well_formed = match digits {
        [] => false,
        [b'0'] => digits.len() == text.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !well_formed {
        return None;
    }
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
