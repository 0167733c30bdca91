//! Prints what each patch file declares of itself, read without loading it (`dsu::inspect`):
//!
//!     dsu-inspect [--keys-file FILE] [--signature FILE] [--] PATCH...
//!
//! With `--keys-file`, a minisign public-keys file as a program trusts it (`dsu::Trust`), each
//! patch's signature (`<PATCH>.minisig`, or the one `--signature` names, for every patch given)
//! must be by one of those keys. Exits with 1 if any patch is refused, 2 for a wrong command
//! line.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut trust = dsu::Trust::new();
    let mut options = dsu::UpdateOptions::default();
    while let Some(flag) = args.next_if(|arg| arg.starts_with("--")) {
        if flag == "--" {
            break; // what follows are patches, whatever their names
        }
        let Some(value) = args.next() else { return usage(&format!("{flag} takes a value")) };
        match flag.as_str() {
            "--keys-file" => match trust.keys_file(&value) {
                Ok(trusted) => trust = trusted,
                Err(error) => {
                    eprintln!("dsu-inspect: {error}");
                    return ExitCode::from(2);
                }
            },
            "--signature" => options = options.signature(value),
            other => return usage(&format!("unknown flag {other}")),
        }
    }
    let patches: Vec<String> = args.collect();
    if patches.is_empty() {
        return usage("name at least one patch");
    }
    if let Err(error) = dsu::trust(trust) {
        eprintln!("dsu-inspect: {error}");
        return ExitCode::from(2);
    }
    let mut refused = false;
    for patch in &patches {
        match dsu::inspect_with(patch, &options) {
            Ok(info) => println!("{info}"),
            Err(error) => {
                refused = true;
                eprintln!("{patch}: refused {}: {error}", error.kind());
            }
        }
    }
    if refused {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("dsu-inspect: {problem}");
    eprintln!("usage: dsu-inspect [--keys-file FILE] [--signature FILE] [--] PATCH...");
    ExitCode::from(2)
}
