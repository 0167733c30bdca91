//! End to end: the kvstore example (`examples/kvstore`), a server that speaks the Redis
//! protocol, is updated through its whole release series, v1 to v6, while real Redis clients
//! (`redis-benchmark` and `redis-cli`, from the `redis-tools` package) and a client of our own
//! that checks every reply use it. After each step every key written is still there with its
//! value, no client has seen an error or lost its connection, each connection's session (its
//! id and name, in a state cell on its loop's frame) is its own still, and the new behaviour
//! is live. v6 converts every open connection's session.
//! Bad patches in the middle of the series are refused and change nothing.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::Value;

/// Keys written before the first update, `fill:<i>` => `value-<i>`.
const FILLED: usize = 10_000;

#[test]
fn kvstore_is_updated_through_its_release_series_under_load() {
    support::require_redis_tools();
    // The server loads patches only from a directory no one else may write to.
    let (run, patches) = support::fresh_run("kvstore-run");
    let program = support::build_example("kvstore", 1, &patches);
    let patch: Vec<PathBuf> =
        (2..=6).map(|version| support::build_example("kvstore", version, &patches)).collect();
    let patch = |version: usize| &patch[version - 2];

    let server = Server::start(&program, &run, &patches);
    server.fill();
    let mut watcher = Watcher::start(server.port);
    let baseline = server.admin(&["STATUS"]);
    assert_eq!(labels(&baseline), ["kvstore@1.0.0"]);
    assert!(sessions(&baseline).iter().all(|&(version, _)| version == 0), "{baseline}");
    assert!(sessions(&baseline).iter().map(|(_, cells)| cells).sum::<u64>() >= 1, "{baseline}");
    // The session commands, with Redis's answers to their mistakes.
    assert_eq!(server.cli(&["CLIENT", "GETNAME"]), "");
    assert_eq!(
        server.cli(&["CLIENT", "SETNAME", "two words"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        server.cli(&["CLIENT", "SETNAME"]),
        "ERR wrong number of arguments for 'client|setname' command"
    );
    assert_eq!(server.cli(&["CLIENT", "KILL"]), "ERR unknown subcommand 'kill'. Try CLIENT HELP.");
    let (first, second): (u64, u64) = (
        server.cli(&["CLIENT", "ID"]).parse().unwrap(),
        server.cli(&["CLIENT", "ID"]).parse().unwrap(),
    );
    assert!(second > first, "each connection has an id of its own: {first}, then {second}");
    assert_eq!(server.cli(&["INCR", "counter"]), "ERR unknown command 'INCR'");
    // What is not RESP closes its own connection, with an error, and nothing else.
    for garbage in ["*x\r\n", "*1\r\n$-5\r\n", "*1\r\n+PING\r\n", "*1\r\n$1\r\nabc\r\n"] {
        let reply = support::raw(server.port, garbage.as_bytes());
        assert!(reply.starts_with("-ERR Protocol error: "), "{garbage:?} answered {reply:?}");
    }
    assert_eq!(
        support::raw(server.port, b"PING\r\nECHO  inline\r\nQUIT\r\n"),
        "+PONG\r\n$6\r\ninline\r\n+OK\r\n"
    );
    // A request that arrives a byte at a time.
    let request = "*3\r\n$3\r\nSET\r\n$6\r\npieces\r\n$5\r\nwhole\r\nGET pieces\r\nQUIT\r\n";
    assert_eq!(raw_in_pieces(server.port, request), "+OK\r\n$5\r\nwhole\r\n+OK\r\n");

    let mut load = Load::start(&server);
    let checker = Checker::start(server.port);

    // v2: new commands. Its INCR takes a value that is not a number for 0: the bug v3 fixes.
    server.update(patch(2), "kvstore@2.0.0");
    watcher.check();
    server.check_keys(&checker);
    assert_eq!(server.cli(&["INCR", "counter"]), "1");
    assert_eq!(server.cli(&["INCRBY", "counter", "41"]), "42");
    assert_eq!(server.cli(&["SET", "word", "hello"]), "OK");
    assert_eq!(server.cli(&["INCR", "word"]), "1", "v2's bug is live");
    assert_eq!(server.cli(&["APPEND", "word", "23"]), "3");
    assert_eq!(server.cli(&["KEYS", "fill:999?"]).lines().count(), 10);
    assert_eq!(server.cli(&["KEYS", "fill:999[^0-4]"]).lines().count(), 5);
    assert_eq!(server.cli(&["KEYS", "fill:99[]9"]), "", "an empty class matches nothing");
    assert_eq!(server.cli(&["MGET", "fill:7", "nothing", "fill:8"]), "value-7\n\nvalue-8");
    load.check();

    // v3: the fix, one function's body. Checked first: the dry run's plan is the report.
    let report = server.check_then_update(patch(3), "kvstore@3.0.0");
    assert_eq!(paths(&report["replaced"]), ["kvstore::commands::add"]);
    watcher.check();
    server.check_keys(&checker);
    assert_eq!(server.cli(&["SET", "word", "hello"]), "OK");
    assert_eq!(server.cli(&["INCR", "word"]), "ERR value is not an integer or out of range");
    assert_eq!(server.cli(&["GET", "word"]), "hello");
    assert_eq!(server.cli(&["INCR", "counter"]), "43");
    assert_eq!(server.cli(&["SET", "padded", "007"]), "OK");
    assert_eq!(server.cli(&["INCR", "padded"]), "ERR value is not an integer or out of range");
    load.check();

    // Bad patches in the middle of the series: each is refused and nothing changes.
    let before = server.admin(&["STATUS"]);
    let outside = run.join("kvstore-4.so");
    fs::copy(patch(4), &outside).unwrap();
    server.refused(&["UPDATE", outside.to_str().unwrap()], "patch_outside_directory");
    server.refused(&["UPDATE", patches.join("missing.so").to_str().unwrap()], "patch_unreadable");
    let corrupt = patches.join("corrupt.so");
    fs::write(&corrupt, &fs::read(patch(4)).unwrap()[..64 * 1024]).unwrap();
    server.refused(&["UPDATE", corrupt.to_str().unwrap()], "not_a_shared_library");
    // v5 converts v4's store: applied to v3, skipping a release, its transformer is for
    // another version of the store's type.
    server.refused(&["UPDATE", patch(5).to_str().unwrap()], "transformer_for_another_version");
    server.refused(&["CHECK", patch(5).to_str().unwrap()], "transformer_for_another_version");
    // Already running.
    server.refused(&["UPDATE", patch(3).to_str().unwrap()], "already_applied");
    server.refused(&["UPDATE"], "wrong_arguments");
    server.refused(&["CHECK"], "wrong_arguments");
    server.refused(&["RESTART"], "unknown_command");
    assert_eq!(server.admin(&["STATUS"]), before, "a refused update changed the server");
    server.check_keys(&checker);
    assert_eq!(server.cli(&["INCR", "word"]), "ERR value is not an integer or out of range");
    load.check();

    // v4: keys expire; every entry of the store is converted to one that can.
    let report = server.check_then_update(patch(4), "kvstore@4.0.0");
    assert!(report["held_us"].as_f64() >= report["pause_us"].as_f64(), "{report}");
    assert_eq!(report["converted"][0]["path"], "kvstore::store::STORE", "{report}");
    assert_eq!(report["converted_cells"], serde_json::json!([]), "{report}");
    watcher.check();
    server.check_keys(&checker);
    assert_eq!(server.cli(&["TTL", "fill:1"]), "-1", "converted entries never expire");
    assert_eq!(server.cli(&["TTL", "nothing"]), "-2");
    assert_eq!(server.cli(&["SET", "short", "lived", "PX", "1000"]), "OK");
    let left: i64 = server.cli(&["PTTL", "short"]).parse().unwrap();
    assert!((1..=1000).contains(&left), "PTTL answered {left}");
    assert_eq!(server.cli(&["EXPIRE", "word", "100"]), "1");
    let left: i64 = server.cli(&["TTL", "word"]).parse().unwrap();
    assert!((99..=100).contains(&left), "TTL answered {left}");
    assert_eq!(server.cli(&["PERSIST", "word"]), "1");
    assert_eq!(server.cli(&["TTL", "word"]), "-1");
    assert_eq!(server.cli(&["SET", "word", "hello", "EX", "1", "PX", "5"]), "ERR syntax error");
    let far = i64::MAX.to_string();
    let refused = "ERR invalid expire time in 'pexpire' command";
    assert_eq!(server.cli(&["PEXPIRE", "word", &far]), refused);
    thread::sleep(Duration::from_millis(1100));
    assert_eq!(server.cli(&["GET", "short"]), "", "expired");
    assert_eq!(server.cli(&["INCR", "counter"]), "44");
    load.check();

    // v5: the store's layout changes, from one map to sixteen shards.
    server.update(patch(5), "kvstore@5.0.0");
    let status = server.admin(&["STATUS"]);
    let store = status["globals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|global| global["path"] == "kvstore::store::STORE");
    assert_eq!(store.unwrap()["type"], "Shards", "{status}");
    watcher.check();
    server.check_keys(&checker);
    assert_eq!(server.cli(&["GET", "word"]), "hello");
    assert_eq!(server.cli(&["INCR", "counter"]), "45");
    load.check();

    // v6: INFO, with counters in a global the version adds.
    // v6 also converts every open connection's session, which from now on counts its commands;
    // v6's store is v5's, shared as it is.
    let report = server.update(patch(6), "kvstore@6.0.0");
    assert_eq!(paths(&report["added_globals"]), ["kvstore::stats::STATS"]);
    assert_eq!(report["converted"], serde_json::json!([]), "{report}");
    let converted = &report["converted_cells"];
    assert_eq!(converted.as_array().map(Vec::len), Some(1), "{report}");
    assert_eq!(converted[0]["type"], "kvstore::session::Session", "{report}");
    assert_eq!(converted[0]["from"], "crate::v5::session::Session", "{report}");
    // The watcher's and the checker's, at least, and redis-benchmark's.
    assert!(converted[0]["cells"].as_u64() >= Some(2), "{report}");
    watcher.check();
    let info = watcher.info();
    assert!(
        info.ends_with(" name=watcher tot-cmds=3 cmd=client\n"),
        "the watcher's two checks and this, counted since v6: {info:?}"
    );
    let status = server.admin(&["STATUS"]);
    let v6 = report["version"]["id"].as_u64().unwrap();
    assert!(sessions(&status).iter().all(|&(version, _)| version == v6), "{status}");
    let fresh = server.cli(&["CLIENT", "INFO"]);
    assert!(fresh.starts_with("id=") && fresh.ends_with(" name= tot-cmds=1 cmd=client"), "{fresh}");
    server.check_keys(&checker);
    let written = checker.written();
    let info = server.cli(&["INFO"]);
    assert!(info.contains("kvstore_version:kvstore@6.0.0"), "{info}");
    assert!(info.contains("versions:kvstore@1.0.0 -> kvstore@2.0.0 -> "), "{info}");
    // The checker's connection, opened before v6, is counted by v1's counter, which lives on;
    // so is redis-cli's. (redis-benchmark reconnects between its tests.)
    assert!(field(&info, "connected_clients") >= 2, "{info}");
    assert!(field(&info, "total_commands_processed") > 0, "{info}");
    let keys = info.lines().find_map(|line| line.strip_prefix("db0:keys=")).unwrap();
    let keys: usize = keys.split(',').next().unwrap().parse().unwrap();
    assert!(keys >= FILLED + written, "{info}");
    load.check();

    watcher.check();
    let requests = checker.stop();
    load.stop();
    server.stop();
    println!("the checker made {requests} requests on one connection, all answered right");
}

/// The kvstore server, running, and what it logs.
struct Server {
    child: Child,
    port: u16,
    socket: PathBuf,
    log: PathBuf,
}

impl Server {
    fn start(program: &Path, run: &Path, patches: &Path) -> Server {
        fs::create_dir_all(run).unwrap();
        let log = run.join("server.log");
        let socket = run.join("admin.sock");
        let child = Command::new(program)
            .args(["--port", "0", "--admin-socket"])
            .arg(&socket)
            .arg("--patch-dir")
            .arg(patches)
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("the kvstore program starts");
        let mut server = Server { child, port: 0, socket, log };
        // Both lines the server prints: it must not find its stdout closed when it prints the
        // second.
        let (mut first, mut second) = (String::new(), String::new());
        let mut stdout = BufReader::new(server.child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        stdout.read_line(&mut second).unwrap();
        let address = first.trim().rsplit(':').next().unwrap_or_default();
        server.port = address.parse().unwrap_or_else(|_| panic!("the server said `{first}`"));
        server
    }

    /// Writes `fill:<i>` => `value-<i>` with redis-cli's mass insertion.
    fn fill(&self) {
        let commands: String = (0..FILLED).map(|i| format!("SET fill:{i} value-{i}\r\n")).collect();
        let output = self.redis_cli(&["-p", &self.port.to_string(), "--pipe"], &commands);
        assert!(output.contains(&format!("errors: 0, replies: {FILLED}")), "{output}");
    }

    /// Runs one command with redis-cli and returns its output, without the last line end.
    fn cli(&self, command: &[&str]) -> String {
        let mut args = vec!["-p".to_owned(), self.port.to_string()];
        args.extend(command.iter().map(|arg| arg.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.redis_cli(&args, "").trim_end_matches('\n').to_owned()
    }

    fn redis_cli(&self, args: &[&str], input: &str) -> String {
        let mut cli = Command::new("redis-cli")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = cli.stdin.take().unwrap();
        let input = input.to_owned();
        let writer = thread::spawn(move || stdin.write_all(input.as_bytes()));
        let output = cli.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success() && stderr.is_empty(), "redis-cli {args:?}: {stderr}");
        stdout.into_owned()
    }

    /// Sends a command to the admin socket, with redis-cli, and parses the JSON answer.
    fn admin(&self, command: &[&str]) -> Value {
        let mut args = vec!["-s", self.socket.to_str().unwrap()];
        args.extend_from_slice(command);
        let answer = self.redis_cli(&args, "");
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e} in the answer {answer}"))
    }

    /// Applies a patch, checks that version `label` runs now, and returns the report.
    fn update(&self, patch: &Path, label: &str) -> Value {
        let report = self.admin(&["UPDATE", patch.to_str().unwrap()]);
        assert_eq!(report["ok"], true, "{report}");
        assert_eq!(report["version"]["label"], label, "{report}");
        println!("{}", report["message"].as_str().unwrap());
        report
    }

    /// Checks a patch (`CHECK`), which changes nothing, then applies it, and checks that the
    /// check's plan is what the update did.
    fn check_then_update(&self, patch: &Path, label: &str) -> Value {
        // What a check could change; not the number of live sessions, which clients that come
        // and go change meanwhile.
        let status = || {
            let mut status = self.admin(&["STATUS"]);
            for cells in status["cells"].as_array_mut().unwrap() {
                cells.as_object_mut().unwrap().remove("cells");
            }
            status
        };
        let before = status();
        let checked = self.admin(&["CHECK", patch.to_str().unwrap()]);
        assert_eq!(
            (&checked["ok"], &checked["dry_run"]),
            (&true.into(), &true.into()),
            "{checked}"
        );
        assert_eq!(status(), before, "a check changed the server");
        let report = self.update(patch, label);
        assert_eq!(report["dry_run"], false, "{report}");
        for field in [
            "replaced",
            "reached",
            "unreached",
            "forked",
            "added",
            "signature_changed",
            "removed",
            "unchanged",
            "added_globals",
        ] {
            assert_eq!(checked[field], report[field], "{field}: {checked} against {report}");
        }
        assert_eq!(checked["version"]["id"], report["version"]["id"]);
        assert_eq!(checked["version"]["label"], label);
        report
    }

    /// Sends a command that must be refused with the error `kind`.
    fn refused(&self, command: &[&str], kind: &str) {
        let answer = self.admin(command);
        assert_eq!(answer["ok"], false, "{answer}");
        assert_eq!(answer["error"], kind, "{answer}");
        assert!(!answer["message"].as_str().unwrap().is_empty(), "{answer}");
    }

    /// Every key filled before the updates, and every key the checker has written, has its
    /// value: read back with redis-cli, one `GET` per key.
    fn check_keys(&self, checker: &Checker) {
        let written = checker.written();
        let keys = (0..FILLED)
            .map(|i| (format!("fill:{i}"), format!("value-{i}")))
            .chain((0..written).map(|i| (format!("checked:{i}"), i.to_string())));
        let (keys, values): (Vec<String>, Vec<String>) = keys.unzip();
        let commands: String = keys.iter().map(|key| format!("GET {key}\n")).collect();
        let output = self.redis_cli(&["-p", &self.port.to_string()], &commands);
        let read: Vec<&str> = output.lines().collect();
        assert_eq!(read.len(), keys.len(), "one answer per key");
        for ((key, value), read) in keys.iter().zip(&values).zip(read) {
            assert_eq!(read, value, "the value of {key}");
        }
    }

    fn stop(mut self) {
        let log = fs::read_to_string(&self.log).unwrap();
        assert!(!log.contains("panicked"), "the server panicked:\n{log}");
        assert_eq!(self.child.try_wait().unwrap(), None, "the server exited:\n{log}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// redis-benchmark, on connections of its own: 200,000 `SET`s, then 200,000 `GET`s, on random
/// keys, pipelined four deep, over and over until it is stopped. It exits at the first error
/// or closed connection.
struct Load {
    benchmark: Child,
    output: PathBuf,
}

impl Load {
    const CONNECTIONS: u64 = 8;

    fn start(server: &Server) -> Load {
        let output = server.log.with_file_name("benchmark.log");
        let benchmark = Command::new("redis-benchmark")
            .args(["-p", &server.port.to_string(), "-t", "set,get", "-r", "100000", "-P", "4"])
            .args(["-c", &Self::CONNECTIONS.to_string(), "-n", "200000", "-l", "-q"])
            .stdout(fs::File::create(&output).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("redis-benchmark starts");
        Load { benchmark, output }
    }

    /// The benchmark is still running: none of its requests failed.
    fn check(&mut self) {
        let status = self.benchmark.try_wait().unwrap();
        let output = fs::read_to_string(&self.output).unwrap_or_default().replace('\r', "\n");
        assert_eq!(status, None, "redis-benchmark stopped: {output}");
        assert!(!output.contains("Error"), "redis-benchmark saw an error: {output}");
    }

    fn stop(mut self) {
        self.check();
        self.benchmark.kill().unwrap();
        self.benchmark.wait().unwrap();
        let output = fs::read_to_string(&self.output).unwrap();
        let output = output.replace('\r', "\n");
        assert!(output.contains("SET: ") && output.contains("GET: "), "{output}");
    }
}

/// A client of our own on one connection, for the whole test: it names itself, writes
/// `checked:<n>` => `<n>` and reads back the key before, asks for its name now and then, and
/// fails at the first unexpected reply or lost connection.
struct Checker {
    written: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<u64, String>>,
}

impl Checker {
    fn start(port: u16) -> Checker {
        let written = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (acknowledged, stopping) = (written.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut connection = Resp { reader: BufReader::new(stream.try_clone().unwrap()) };
            let mut writer = stream;
            let reply = connection.call(&mut writer, &["CLIENT", "SETNAME", "checker"])?;
            expect(&reply, "+OK", "CLIENT SETNAME")?;
            let mut requests = 1;
            let mut n = 0;
            while !stopping.load(Ordering::Relaxed) {
                if n % 256 == 0 {
                    // Its session, through every update.
                    let reply = connection.call(&mut writer, &["CLIENT", "GETNAME"])?;
                    expect(&reply, "$checker", "CLIENT GETNAME")?;
                    requests += 1;
                }
                let (key, value) = (format!("checked:{n}"), n.to_string());
                let reply = connection.call(&mut writer, &["SET", &key, &value])?;
                expect(&reply, "+OK", &key)?;
                // Relaxed: a count of keys the server has acknowledged; what they hold is the
                // server's, read back over the network.
                acknowledged.store(n + 1, Ordering::Relaxed);
                if n > 0 {
                    let previous = format!("checked:{}", n - 1);
                    let reply = connection.call(&mut writer, &["GET", &previous])?;
                    expect(&reply, &format!("${}", n - 1), &previous)?;
                }
                requests += 2;
                n += 1;
                // A request every millisecond or so, to leave the machine to the benchmark.
                thread::sleep(Duration::from_micros(500));
            }
            Ok(requests)
        });
        Checker { written, stop, thread }
    }

    /// How many keys the server has acknowledged.
    fn written(&self) -> usize {
        assert!(!self.thread.is_finished(), "the checking client stopped");
        self.written.load(Ordering::Relaxed) as usize
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.join().unwrap() {
            Ok(requests) => requests,
            Err(error) => panic!("the checking client failed: {error}"),
        }
    }
}

/// A connection that names itself before the first update and then sits idle between the
/// steps, its loop blocked in a read: after each update its session still has its id and name.
struct Watcher {
    connection: Resp,
    writer: TcpStream,
    id: String,
}

impl Watcher {
    fn start(port: u16) -> Watcher {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connection = Resp { reader: BufReader::new(stream.try_clone().unwrap()) };
        let mut watcher = Watcher { connection, writer: stream, id: String::new() };
        assert_eq!(watcher.call(&["CLIENT", "SETNAME", "watcher"]), "+OK");
        watcher.id = watcher.call(&["CLIENT", "ID"]);
        assert!(watcher.id.starts_with(':'), "{}", watcher.id);
        watcher
    }

    fn call(&mut self, args: &[&str]) -> String {
        self.connection.call(&mut self.writer, args).unwrap_or_else(|e| panic!("the watcher: {e}"))
    }

    /// Its session is its own still.
    fn check(&mut self) {
        assert_eq!(self.call(&["CLIENT", "GETNAME"]), "$watcher");
        let id = self.call(&["CLIENT", "ID"]);
        assert_eq!(id, self.id, "the watcher's id");
    }

    /// `CLIENT INFO`, the bulk string without its `$`.
    fn info(&mut self) -> String {
        let info = self.call(&["CLIENT", "INFO"]);
        let info = info.strip_prefix('$').unwrap_or_else(|| panic!("CLIENT INFO: {info}"));
        let id = self.id.trim_start_matches(':');
        assert!(info.starts_with(&format!("id={id} ")), "{info}");
        info.to_owned()
    }
}

fn expect(reply: &str, expected: &str, key: &str) -> Result<(), String> {
    match reply == expected {
        true => Ok(()),
        false => Err(format!("{key}: the server answered `{reply}`, expected `{expected}`")),
    }
}

/// Just enough of a RESP client for the checker: a reply is a line, or `$` and the bulk.
struct Resp {
    reader: BufReader<TcpStream>,
}

impl Resp {
    fn call(&mut self, writer: &mut TcpStream, args: &[&str]) -> Result<String, String> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request += &format!("${}\r\n{arg}\r\n", arg.len());
        }
        writer.write_all(request.as_bytes()).map_err(|e| format!("the connection broke: {e}"))?;
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => return Err("the server closed the connection".to_owned()),
            Err(e) => return Err(format!("the connection broke: {e}")),
            Ok(_) => {}
        }
        let line = line.trim_end().to_owned();
        let Some(len) = line.strip_prefix('$').and_then(|len| len.parse::<usize>().ok()) else {
            return Ok(line);
        };
        let mut bulk = vec![0; len + 2];
        self.reader.read_exact(&mut bulk).map_err(|e| format!("the connection broke: {e}"))?;
        Ok(format!("${}", String::from_utf8_lossy(&bulk[..len])))
    }
}

/// Sends `request` a byte at a time, each written on its own, and reads until the server
/// closes the connection.
fn raw_in_pieces(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    for byte in request.as_bytes() {
        stream.write_all(&[*byte]).unwrap();
        thread::sleep(Duration::from_micros(200));
    }
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("the server closes the connection");
    reply
}

/// The labels of the versions in a STATUS answer.
fn labels(status: &Value) -> Vec<&str> {
    status["versions"].as_array().unwrap().iter().map(|v| v["label"].as_str().unwrap()).collect()
}

/// The paths of the items in a report's list.
fn paths(items: &Value) -> Vec<&str> {
    items.as_array().unwrap().iter().map(|item| item["path"].as_str().unwrap()).collect()
}

/// The sessions in a STATUS answer: the version of their type, and how many there are.
fn sessions(status: &Value) -> Vec<(u64, u64)> {
    let cells = status["cells"].as_array().unwrap_or_else(|| panic!("no cells in {status}"));
    let sessions = cells.iter().filter(|cells| cells["type"] == "kvstore::session::Session");
    sessions.map(|c| (c["version"].as_u64().unwrap(), c["cells"].as_u64().unwrap())).collect()
}

/// The number in an `INFO` line `name:<number>`.
fn field(info: &str, name: &str) -> u64 {
    let line = info.lines().find_map(|line| line.strip_prefix(&format!("{name}:")));
    line.and_then(|value| value.trim().parse().ok()).unwrap_or_else(|| panic!("{name} in {info}"))
}
