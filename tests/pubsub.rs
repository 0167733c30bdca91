//! End to end: the pubsub example (`examples/pubsub`), a publish/subscribe broker on tokio that
//! speaks the Redis protocol, is updated through its whole release series, v1 to v6, while
//! real Redis clients use it: `redis-benchmark` publishes without pause, `redis-cli` subscribes,
//! and clients of our own publish numbered messages and subscribe to them. A subscriber stays
//! connected across every update. At the end no request has failed, every message published
//! reached every subscriber once and in order, each connection's session is its own still, and
//! each release's change is live. Bad patches on the way are refused and change nothing. The
//! example's demo (`examples/pubsub/demo.sh`) succeeds too.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The messages of one `redis-benchmark` run, which every run publishes whole.
const BENCH_RUN: u64 = 20_000;

#[test]
fn pubsub_is_updated_through_its_release_series_under_load() {
    support::require_redis_tools();
    // The broker loads patches only from a directory no one else may write to.
    let (run, patches) = support::fresh_run("pubsub-run");
    let program = support::build_sharing_example("pubsub", 1, &run, &patches);
    for version in 2..=6 {
        support::build_sharing_example("pubsub", version, &run, &patches);
    }
    let server = Server::start(&program, &run, &patches);

    // Version 1, and its bug: the count that answers each `SUBSCRIBE` is the channel's place
    // in the command, not how many channels the connection listens to.
    assert_eq!(subscribe_counts(server.port), [1, 1]);
    let mut client = Client::connect(server.port);
    assert_eq!(
        client.ask(&["PUBSUB", "CHANNELS"]),
        Value::Error("ERR unknown command 'pubsub'".into())
    );
    assert_eq!(client.ask(&["PING"]), Value::Simple("PONG".into()));
    assert_eq!(
        client.ask(&["PUBLISH", "news"]),
        Value::Error("ERR wrong number of arguments for 'publish' command".into())
    );
    assert_eq!(labels(&server.status()), ["pubsub@1.0.0"]);

    // The clients that stay for the whole series.
    let subscriber = Subscriber::start(server.port, &["news", "$SYS/broker"]);
    let load_subscriber = Subscriber::start(server.port, &["load"]);
    let cli = CliSubscriber::start(server.port, &run.join("redis-cli.out"));
    let publisher = Publisher::start(server.port);
    let bench = Bench::start(server.port);
    let subscriber_id = subscriber.ask(&["CLIENT", "ID"]).integer();
    assert_eq!(
        subscriber.ask(&["CLIENT", "INFO"]),
        Value::Bulk(format!("id={subscriber_id} sub=2").into_bytes())
    );
    publisher.wait_for(100);
    bench.wait_for_runs(1);

    // Bad patches change nothing: a truncated file, one outside the patch directory, and a
    // release whose state conversion starts from another release than the one running.
    let truncated = patches.join("truncated.so");
    let whole = fs::read(patches.join("v2.so")).unwrap();
    fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    for (patch, kind) in [
        ("truncated.so", "not_a_shared_library"),
        ("../pubsub", "patch_outside_directory"),
        ("missing.so", "patch_unreadable"),
        ("v5.so", "state_type_changed"),
    ] {
        let refused = server.admin(&["UPDATE", patch]);
        let Value::Error(refusal) = &refused else { panic!("{patch} was applied: {refused:?}") };
        assert!(refusal.starts_with(&format!("ERR {kind} ")), "{patch}: {refusal}");
    }
    assert_eq!(labels(&server.status()), ["pubsub@1.0.0"]);
    assert_eq!(subscribe_counts(server.port), [1, 1]);

    // Version 2: the fix, in one handler.
    let report = server.update(2);
    assert_eq!(replaced(&report), ["pubsub::commands::subscribe"], "{report}");
    assert_eq!(subscribe_counts(server.port), [1, 2]);
    publisher.wait_for(100);

    // Version 3: a new command.
    let report = server.update(3);
    assert!(report.contains("added pubsub::commands::pubsub\n"), "{report}");
    assert_eq!(replaced(&report), ["pubsub::commands::execute"], "{report}");
    let channels = client.ask(&["PUBSUB", "CHANNELS"]).strings();
    for channel in ["news", "load", "$SYS/broker"] {
        assert!(channels.iter().any(|name| name == channel), "{channels:?}");
    }
    assert_eq!(client.ask(&["PUBSUB", "CHANNELS", "n?w*"]).strings(), ["news"]);
    let numsub = |client: &mut Client| client.ask(&["PUBSUB", "NUMSUB", "news", "load", "none"]);
    let subscribed = numsub(&mut client).strings();
    assert_eq!(subscribed, ["news", "2", "load", "1", "none", "0"]);
    publisher.wait_for(100);

    // Version 4: the broker's state changes type, converted where it is while every client
    // goes on; the channels come sorted now.
    let report = server.update(4);
    assert!(report.contains("converted_cells pubsub::broker::Broker 1\n"), "{report}");
    assert_eq!(numsub(&mut client).strings(), subscribed);
    assert_eq!(client.ask(&["PUBSUB", "CHANNELS"]).strings(), ["$SYS/broker", "load", "news"]);
    publisher.wait_for(100);

    // Version 5: each connection's session changes type; every open connection's is
    // converted, and counts the messages sent to it from here on.
    let report = server.update(5);
    let sessions = converted(&report, "pubsub::session::Session");
    assert!(sessions >= 5, "subscribers, publisher, client, redis-cli and benchmark: {report}");
    let info = |subscriber: &Subscriber| subscriber.ask(&["CLIENT", "INFO"]).text();
    let first = delivered(&info(&subscriber), subscriber_id);
    let deadline = Instant::now() + Duration::from_secs(30);
    let second = loop {
        publisher.wait_for(10);
        let count = delivered(&info(&subscriber), subscriber_id);
        if count >= first + 100 {
            break count;
        }
        assert!(Instant::now() < deadline, "counted {first}, then only {count}");
    };

    // Version 6: a change that only the background task runs.
    let report = server.update(6);
    assert_eq!(replaced(&report), ["pubsub::stats::line"], "{report}");
    // The count of messages published lived through the conversion of version 4.
    let at_least = publisher.published() + bench.runs() * BENCH_RUN;
    let since = subscriber.sys_lines();
    let sys = subscriber.wait_for_sys(since, |line| line.contains(" published="));
    let counted: u64 = sys.rsplit("published=").next().unwrap().parse().unwrap();
    assert!(counted >= at_least, "{sys}: at least {at_least} were published");
    assert!(sys.starts_with("clients="), "{sys}");
    assert_eq!(
        labels(&server.status()),
        [
            "pubsub@1.0.0",
            "pubsub@2.0.0",
            "pubsub@3.0.0",
            "pubsub@4.0.0",
            "pubsub@5.0.0",
            "pubsub@6.0.0"
        ]
    );

    // The old versions' turns drain: each loop's next turn runs the newest `serve_turn`, of
    // version 5 (version 6 did not change it), while the loops themselves, one `serve` per
    // connection, stay in the version they started in. The idle client's turn waits in the
    // version of its last request until it sends the next.
    publisher.wait_for(100);
    assert_eq!(client.ask(&["PING"]), Value::Simple("PONG".into()));
    let status = wait_for_status(&server, |status| {
        ["pubsub::server::serve_turn", "pubsub::stats::announce"].iter().all(|item| {
            let running = futures(status, item);
            !running.is_empty() && running.iter().all(|&(version, _)| version == 4)
        })
    });
    let loops: u64 = futures(&status, "pubsub::server::serve")
        .iter()
        .filter(|&&(version, _)| version == 0)
        .map(|&(_, running)| running)
        .sum();
    assert!(loops >= 4, "the connections of version 1 still loop in its `serve`: {status}");

    // The end: no request failed, and no message was lost or doubled.
    let published = publisher.stop();
    let runs = bench.stop();
    assert!(runs >= 2, "redis-benchmark ran {runs} times");
    let news = subscriber.wait_for_news(published);
    assert_eq!(news, published, "the subscriber of `news` got every message once, in order");
    assert_eq!(load_subscriber.wait_for("load", runs * BENCH_RUN), runs * BENCH_RUN);
    assert_eq!(cli.stop_after(published), published, "redis-cli got every message");
    // Nothing more comes: no message came twice.
    thread::sleep(Duration::from_millis(300));
    assert_eq!(load_subscriber.wait_for("load", 0), runs * BENCH_RUN);
    assert_eq!(subscriber.wait_for_news(0), published);
    // The connections that closed were counted out: the subscribers and the idle client stay.
    let since = subscriber.sys_lines();
    subscriber.wait_for_sys(since, |line| line.starts_with("clients=3 "));
    assert_eq!(subscriber.ask(&["CLIENT", "ID"]).integer(), subscriber_id);
    let last = delivered(&info(&subscriber), subscriber_id);
    assert!(last > second, "{last}");
    subscriber.stop();
    load_subscriber.stop();
    let log = server.stop();
    assert!(!log.contains("panicked"), "the broker's log:\n{log}");
}

#[test]
fn hostile_clients_are_cut_off_and_the_broker_goes_on() {
    let (run, patches) = support::fresh_run("pubsub-hostile-run");
    let program = support::build_sharing_example("pubsub", 1, &run, &patches);
    for version in 2..=3 {
        support::build_sharing_example("pubsub", version, &run, &patches);
    }
    let server = Server::start(&program, &run, &patches);
    server.update(2);
    server.update(3);
    let mut client = Client::connect(server.port);

    // What is not RESP, or too long, closes its own connection with an error, and nothing else.
    let long = format!("*2\r\n$7\r\nPUBLISH\r\n${}\r\n", 2 << 20);
    for garbage in [
        "*x\r\n",
        "*1\r\n$-5\r\n",
        "*1\r\n+PING\r\n",
        "*1\r\n$1\r\nabc\r\n",
        "*99999999\r\n",
        &long,
    ] {
        let reply = support::raw(server.port, garbage.as_bytes());
        assert!(reply.starts_with("-ERR Protocol error: "), "{garbage:?} answered {reply:?}");
    }
    assert!(support::raw(server.port, &vec![b'x'; 100 << 10])
        .starts_with("-ERR Protocol error: inline"));
    let words = "a ".repeat(40_000) + "\n";
    assert!(support::raw(server.port, words.as_bytes()).starts_with("-ERR Protocol error: inline"));
    // A connection subscribes to so many channels, of names so long, and no more.
    let many: Vec<String> = (0..10_001).map(|n| format!("c{n}")).collect();
    let mut subscribe: Vec<&str> = vec!["SUBSCRIBE"];
    subscribe.extend(many.iter().map(String::as_str));
    let refused = client.ask(&subscribe);
    assert_eq!(
        refused,
        Value::Error("ERR a connection subscribes to at most 10000 channels".into())
    );
    let long_name = "n".repeat(1025);
    let refused = client.ask(&["SUBSCRIBE", &long_name]);
    assert_eq!(refused, Value::Error("ERR channel names are at most 1024 bytes long".into()));
    assert_eq!(client.ask(&["PUBSUB", "NUMSUB", "c1"]).strings(), ["c1", "0"]);
    // A request that comes a byte at a time is answered once it is whole.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    for byte in encode(&["PUBLISH", "drip", "one byte at a time"]) {
        stream.write_all(&[byte]).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(Value::read(&mut BufReader::new(&stream)).unwrap(), Value::Integer(0));
    assert_eq!(client.ask(&["PING"]), Value::Simple("PONG".into()));

    // A pattern long enough to keep the broker busy is refused.
    let pattern = format!("*{}b", "a".repeat(300));
    let refused = client.ask(&["PUBSUB", "CHANNELS", &pattern]);
    assert_eq!(refused, Value::Error("ERR patterns are at most 256 bytes long".into()));

    // A subscriber that never reads falls behind by more than the broker keeps for it: it is
    // taken off its channel and cut off, and publishing goes on.
    let stalled = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    (&stalled).write_all(&encode(&["SUBSCRIBE", "flood"])).unwrap();
    let watcher = Subscriber::start(server.port, &["flood"]);
    let message = "m".repeat(512 << 10);
    let mut delivered = Vec::new();
    for _ in 0..120 {
        delivered.push(client.ask(&["PUBLISH", "flood", &message]).integer());
    }
    assert_eq!(delivered[0], 2, "both subscribers get the first messages");
    assert_eq!(*delivered.last().unwrap(), 1, "the stalled one was dropped: {delivered:?}");
    let numsub = client.ask(&["PUBSUB", "NUMSUB", "flood"]).strings();
    assert_eq!(numsub, ["flood", "1"]);
    stalled.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut drained = Vec::new();
    let closed = (&stalled).read_to_end(&mut drained);
    assert!(closed.is_ok(), "the broker cut the stalled subscriber off: {closed:?}");
    assert_eq!(watcher.wait_for("flood", 120), 120, "the subscriber that reads got them all");
    watcher.stop();

    // The admin port takes RESP arrays only: a web page that makes a browser post a command
    // to it runs nothing.
    let smuggled = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nROLLBACK\r\n";
    let reply = support::raw(server.admin_port, smuggled.as_bytes());
    assert!(reply.starts_with("-ERR Protocol error: the admin port takes RESP arrays"), "{reply}");
    assert_eq!(labels(&server.status()).last(), Some(&"pubsub@3.0.0"));
    let log = server.stop();
    assert!(!log.contains("panicked"), "the broker's log:\n{log}");
}

#[test]
fn the_demo_updates_the_broker_as_it_shows() {
    let demo = support::root().join("examples").join("pubsub").join("demo.sh");
    let output = Command::new("bash").arg(&demo).output().expect("bash runs the demo");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("SUBSCRIBE a, then SUBSCRIBE b: 1 2"), "{stdout}");
    assert!(stdout.contains("subscriber> after version 6"), "{stdout}");
}

/// A new connection subscribes to `a`, then to `b`: the counts the two replies give.
fn subscribe_counts(port: u16) -> Vec<u64> {
    let mut client = Client::connect(port);
    let counts = ["a", "b"].map(|channel| match client.ask(&["SUBSCRIBE", channel]) {
        Value::Array(reply) => reply[2].integer(),
        other => panic!("SUBSCRIBE answered {other:?}"),
    });
    counts.to_vec()
}

/// The labels of the versions in a `STATUS` reply.
fn labels(status: &str) -> Vec<&str> {
    status.lines().filter_map(|line| line.strip_prefix("version ")?.split(' ').nth(1)).collect()
}

/// The items a report replaced, sorted.
fn replaced(report: &str) -> Vec<&str> {
    let mut items: Vec<&str> =
        report.lines().filter_map(|line| line.strip_prefix("replaced ")).collect();
    items.sort_unstable();
    items
}

/// How many cells of `type_name` a report converted.
fn converted(report: &str, type_name: &str) -> u64 {
    let prefix = format!("converted_cells {type_name} ");
    let line = report.lines().find_map(|line| line.strip_prefix(prefix.as_str()));
    line.unwrap_or_else(|| panic!("no cells of {type_name} converted: {report}")).parse().unwrap()
}

/// `(version, running)` for each version with futures of `item`, in a `STATUS` reply.
fn futures(status: &str, item: &str) -> Vec<(u64, u64)> {
    status
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("futures ")?.split(' ');
            let (version, path, running) = (words.next()?, words.next()?, words.next()?);
            (path == item).then(|| (version.parse().unwrap(), running.parse().unwrap()))
        })
        .collect()
}

fn wait_for_status(server: &Server, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = server.status();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "the old versions' futures never drained: {status}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// The `delivered` count of a version 5 `CLIENT INFO`, which must name the connection `id`.
fn delivered(info: &str, id: u64) -> u64 {
    let count = info.strip_prefix(&format!("id={id} sub=2 delivered="));
    count.unwrap_or_else(|| panic!("CLIENT INFO said {info}")).parse().unwrap()
}

/// A RESP value as a reply or a message carries it.
#[derive(Debug, PartialEq)]
enum Value {
    Simple(String),
    Error(String),
    Integer(u64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Value>),
}

impl Value {
    fn read(reader: &mut impl BufRead) -> std::io::Result<Value> {
        let mut line = Vec::new();
        reader.read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8(line[1..line.len() - 2].to_vec()).unwrap();
        Ok(match line[0] {
            b'+' => Value::Simple(text),
            b'-' => Value::Error(text),
            b':' => Value::Integer(text.parse().unwrap()),
            b'$' if text == "-1" => Value::Null,
            b'$' => {
                let mut bulk = vec![0; text.parse::<usize>().unwrap() + 2];
                reader.read_exact(&mut bulk)?;
                bulk.truncate(bulk.len() - 2);
                Value::Bulk(bulk)
            }
            b'*' => {
                let count: usize = text.parse().unwrap();
                Value::Array((0..count).map(|_| Value::read(reader)).collect::<Result<_, _>>()?)
            }
            other => panic!("not RESP: {:?}", other as char),
        })
    }

    fn integer(&self) -> u64 {
        match self {
            Value::Integer(value) => *value,
            other => panic!("not an integer: {other:?}"),
        }
    }

    fn text(&self) -> String {
        match self {
            Value::Bulk(bytes) => String::from_utf8(bytes.clone()).unwrap(),
            Value::Integer(value) => value.to_string(),
            other => panic!("not a bulk string: {other:?}"),
        }
    }

    fn strings(&self) -> Vec<String> {
        match self {
            Value::Array(items) => items.iter().map(Value::text).collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    /// The channel and the message of a pushed `message`.
    fn message(&self) -> Option<(String, String)> {
        let Value::Array(items) = self else { return None };
        match &items[..] {
            [Value::Bulk(kind), channel, message] if kind == b"message" => {
                Some((channel.text(), message.text()))
            }
            _ => None,
        }
    }
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
    }
    request
}

/// A client of our own, one request at a time.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("the broker accepts");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client { stream, reader }
    }

    fn ask(&mut self, args: &[&str]) -> Value {
        self.stream.write_all(&encode(args)).expect("the broker reads");
        Value::read(&mut self.reader).unwrap_or_else(|error| panic!("{args:?}: {error}"))
    }
}

/// What a subscriber received.
#[derive(Default)]
struct Received {
    /// The last `seq-N` of `news`: every message must be the next one.
    news: u64,
    /// Messages of the other channels.
    counts: BTreeMap<String, u64>,
    /// `$SYS/broker`'s messages, in order.
    sys: Vec<String>,
    /// What went wrong: a message out of order, a lost connection.
    failures: Vec<String>,
}

/// A connection that subscribes and stays: its thread reads every message, and writes the
/// requests it is handed, whose replies come back between the messages.
struct Subscriber {
    received: Arc<Mutex<Received>>,
    requests: Sender<(Vec<u8>, Sender<Value>)>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Subscriber {
    fn start(port: u16, channels: &[&str]) -> Subscriber {
        let mut client = Client::connect(port);
        let mut subscribe = vec!["SUBSCRIBE"];
        subscribe.extend_from_slice(channels);
        client.stream.write_all(&encode(&subscribe)).unwrap();
        for (index, channel) in channels.iter().enumerate() {
            let reply = Value::read(&mut client.reader).unwrap();
            let expected = [&b"subscribe"[..], channel.as_bytes()].map(|b| Value::Bulk(b.to_vec()));
            let [kind, name] = expected;
            assert_eq!(reply, Value::Array(vec![kind, name, Value::Integer(index as u64 + 1)]));
        }
        client.stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let received = Arc::new(Mutex::new(Received::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (requests, asked) = mpsc::channel();
        let thread = {
            let (received, stop) = (Arc::clone(&received), Arc::clone(&stop));
            thread::spawn(move || Subscriber::read(client, &received, &asked, &stop))
        };
        Subscriber { received, requests, stop, thread: Some(thread) }
    }

    fn read(
        mut client: Client,
        received: &Mutex<Received>,
        asked: &Receiver<(Vec<u8>, Sender<Value>)>,
        stop: &AtomicBool,
    ) {
        let mut waiting: Vec<Sender<Value>> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            while let Ok((request, reply)) = asked.try_recv() {
                client.stream.write_all(&request).unwrap();
                waiting.push(reply);
            }
            match client.reader.fill_buf() {
                Ok([]) => {
                    received.lock().unwrap().failures.push("the broker hung up".into());
                    return;
                }
                Ok(_) => {}
                // Nothing came within the read timeout.
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    continue;
                }
                Err(error) => {
                    received.lock().unwrap().failures.push(format!("reading failed: {error}"));
                    return;
                }
            }
            // A value has started: the rest of it follows at once.
            client.stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let value = Value::read(&mut client.reader).unwrap();
            client.stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let Some((channel, message)) = value.message() else {
                waiting.remove(0).send(value).unwrap();
                continue;
            };
            let mut received = received.lock().unwrap();
            match channel.as_str() {
                "news" => {
                    let expected = format!("seq-{}", received.news + 1);
                    if message == expected {
                        received.news += 1;
                    } else {
                        let failure = format!("expected {expected}, got {message}");
                        received.failures.push(failure);
                    }
                }
                "$SYS/broker" => received.sys.push(message),
                other => *received.counts.entry(other.to_owned()).or_default() += 1,
            }
        }
    }

    /// Sends a request on the subscriber's connection and waits for its reply.
    fn ask(&self, args: &[&str]) -> Value {
        let (reply, answer) = mpsc::channel();
        self.requests.send((encode(args), reply)).unwrap();
        answer.recv_timeout(Duration::from_secs(30)).expect("the subscriber gets its reply")
    }

    fn failures(&self) -> Vec<String> {
        self.received.lock().unwrap().failures.clone()
    }

    fn check(&self) {
        let received = self.received.lock().unwrap();
        assert!(received.failures.is_empty(), "the subscriber saw: {:?}", received.failures);
    }

    fn sys_lines(&self) -> usize {
        self.received.lock().unwrap().sys.len()
    }

    /// Waits for a `$SYS/broker` message that passes `test`, among those after the first
    /// `since` and the one after them, which the broker may have sent before this call.
    fn wait_for_sys(&self, since: usize, test: impl Fn(&str) -> bool) -> String {
        let after =
            |received: &Received| received.sys.get(since + 1..).unwrap_or_default().to_vec();
        self.wait(|received| after(received).into_iter().find(|line| test(line)))
    }

    /// Waits until `news` reached `seq-<count>`, and says how far it got.
    fn wait_for_news(&self, count: u64) -> u64 {
        self.wait(|received| (received.news >= count).then_some(received.news))
    }

    /// Waits until `count` messages of `channel` came, and says how many did.
    fn wait_for(&self, channel: &str, count: u64) -> u64 {
        self.wait(|received| {
            let got = received.counts.get(channel).copied().unwrap_or_default();
            (got >= count).then_some(got)
        })
    }

    fn wait<T>(&self, done: impl Fn(&Received) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.check();
            let thread = self.thread.as_ref().unwrap();
            assert!(!thread.is_finished(), "the subscriber's thread ended: {:?}", self.failures());
            if let Some(done) = done(&self.received.lock().unwrap()) {
                return done;
            }
            assert!(Instant::now() < deadline, "the subscriber waited for a minute");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("the subscriber's thread");
        self.check();
    }
}

/// `redis-cli SUBSCRIBE news`, which prints each message's three parts on lines of their own.
struct CliSubscriber {
    child: Child,
    output: PathBuf,
}

impl CliSubscriber {
    fn start(port: u16, output: &Path) -> CliSubscriber {
        let file = fs::File::create(output).unwrap();
        let child = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "SUBSCRIBE", "news"])
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-cli starts");
        let cli = CliSubscriber { child, output: output.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !fs::read_to_string(output).unwrap().contains("subscribe\nnews\n1\n") {
            assert!(Instant::now() < deadline, "redis-cli did not subscribe");
            thread::sleep(Duration::from_millis(20));
        }
        cli
    }

    /// Waits for `seq-<count>`, stops redis-cli, and says how many messages came in order.
    fn stop_after(mut self, count: u64) -> u64 {
        let last = format!("seq-{count}\n");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !fs::read_to_string(&self.output).unwrap().ends_with(&last) {
            assert_eq!(self.child.try_wait().unwrap(), None, "redis-cli stopped");
            assert!(Instant::now() < deadline, "redis-cli never got {last}");
            thread::sleep(Duration::from_millis(20));
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let output = fs::read_to_string(&self.output).unwrap();
        let messages: Vec<&str> = output.lines().filter(|line| line.starts_with("seq-")).collect();
        let in_order = messages.iter().zip(1..).all(|(line, n)| *line == format!("seq-{n}"));
        assert!(in_order, "redis-cli got the messages out of order");
        messages.len() as u64
    }
}

/// Publishes `seq-1`, `seq-2`, ... on `news` without pause, and checks that each went to both
/// subscribers of `news`.
struct Publisher {
    published: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Publisher {
    fn start(port: u16) -> Publisher {
        let published = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (published, stop) = (Arc::clone(&published), Arc::clone(&stop));
            thread::spawn(move || {
                let mut client = Client::connect(port);
                while !stop.load(Ordering::Relaxed) {
                    let seq = published.load(Ordering::Relaxed) + 1;
                    let reply = client.ask(&["PUBLISH", "news", &format!("seq-{seq}")]);
                    if reply != Value::Integer(2) {
                        return Err(format!("PUBLISH seq-{seq} answered {reply:?}"));
                    }
                    published.store(seq, Ordering::Relaxed);
                    thread::sleep(Duration::from_micros(500));
                }
                Ok(())
            })
        };
        Publisher { published, stop, thread: Some(thread) }
    }

    fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Waits until `count` more messages are published.
    fn wait_for(&self, count: u64) {
        let target = self.published.load(Ordering::Relaxed) + count;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.published.load(Ordering::Relaxed) < target {
            let thread = self.thread.as_ref().unwrap();
            assert!(!thread.is_finished(), "the publisher stopped");
            assert!(Instant::now() < deadline, "the publisher is stuck");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops, and says how many messages it published.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().expect("every PUBLISH went to both");
        self.published.load(Ordering::Relaxed)
    }
}

/// `redis-benchmark` publishing on `load`, one run after another, from 20 connections.
struct Bench {
    runs: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Bench {
    fn start(port: u16) -> Bench {
        let runs = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (runs, stop) = (Arc::clone(&runs), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let output = Command::new("redis-benchmark")
                        .args(["-p", &port.to_string(), "-c", "20", "-q"])
                        .args(["-n", &BENCH_RUN.to_string(), "PUBLISH", "load", "payload"])
                        .output()
                        .map_err(|error| format!("redis-benchmark: {error}"))?;
                    let text = String::from_utf8_lossy(&output.stdout).into_owned()
                        + &String::from_utf8_lossy(&output.stderr);
                    if !output.status.success() || text.contains("rror") {
                        return Err(format!("redis-benchmark failed: {text}"));
                    }
                    runs.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        };
        Bench { runs, stop, thread: Some(thread) }
    }

    fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn wait_for_runs(&self, count: u64) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.runs.load(Ordering::Relaxed) < count {
            assert!(!self.thread.as_ref().unwrap().is_finished(), "redis-benchmark stopped");
            assert!(Instant::now() < deadline, "redis-benchmark is stuck");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lets the run under way finish, and says how many ran.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap().expect("redis-benchmark saw no error");
        self.runs.load(Ordering::Relaxed)
    }
}

/// The broker's process, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    admin_port: u16,
    log: PathBuf,
}

impl Server {
    fn start(program: &Path, run: &Path, patches: &Path) -> Server {
        let log = run.join("server.log");
        let mut child = Command::new(program)
            .args(["--port", "0", "--admin-port", "0", "--patch-dir"])
            .arg(patches)
            .env("LD_LIBRARY_PATH", support::std_library_dir())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("the broker starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut port = || -> u16 {
            let line = lines.next().expect("the broker says its ports").unwrap();
            line.rsplit(':').next().unwrap().parse().unwrap()
        };
        let (port, admin_port) = (port(), port());
        Server { child, port, admin_port, log }
    }

    fn admin(&self, args: &[&str]) -> Value {
        Client::connect(self.admin_port).ask(args)
    }

    fn status(&self) -> String {
        self.admin(&["STATUS"]).text()
    }

    /// Applies `v<version>.so`, and returns its report.
    fn update(&self, version: u32) -> String {
        let report = self.admin(&["UPDATE", &format!("v{version}.so")]);
        let report = match report {
            Value::Bulk(_) => report.text(),
            refused => panic!("version {version} was refused: {refused:?}"),
        };
        assert!(report.starts_with(&format!("version {} pubsub@{version}.0.0\n", version - 1)));
        report + "\n"
    }

    /// Stops the broker, and returns its log.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
