//! Attacker test on messages: a client file whose first line is a record, not a header (the
//! most common slip when exporting from a care system). The values of that record (a name, a
//! birth date, coordinates) must not come back in any message: CLI stdout and stderr, the
//! HTTP problem body of the upload, or the server's log. Errors name line and column only.
//! See docs/privacy.md, "Messages".
#![allow(clippy::expect_used)]
// A failed start panics before the child is waited for; the test process then ends anyway.
#![allow(clippy::zombie_processes)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{demo_store, import, tmp, write_text};

/// Headerless client files: what an export without its header line looks like.
const HEADERLESS: [(&str, &str); 3] = [
    (
        "puntkomma.csv",
        "Johanna Terpstra;1937-08-29;151234,5;472345,25;ggz\nKarel Ooms;1941-02-03;150000,0;470000,0;lvb\n",
    ),
    (
        "komma.csv",
        "Johanna Terpstra,1937-08-29,Dorpsstraat 88,ggz\nKarel Ooms,1941-02-03,Kerkweg 2,lvb\n",
    ),
    (
        "getallen.csv",
        "Johanna Terpstra,1937-08-29,151234.5,472345.25,ggz\nKarel Ooms,1941-02-03,150000.0,470000.0,lvb\n",
    ),
];

/// Values of the first record that no message may contain.
const SECRETS: [&str; 7] = [
    "Johanna",
    "Terpstra",
    "1937",
    "151234",
    "472345",
    "Dorpsstraat",
    "08-29",
];

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} holds {s:?}:\n{text}");
    }
}

#[test]
fn a_headerless_client_file_fails_without_echoing_its_first_record_on_the_command_line() {
    let dir = tmp();
    let store = demo_store(dir.path());
    for (name, text) in HEADERLESS {
        let file = write_text(dir.path(), name, text);
        let run = import(&store, "clients", &file, &[]);
        run.assert_failed();
        assert_no_secret(&format!("{name}: stdout"), &run.stdout);
        assert_no_secret(&format!("{name}: stderr"), &run.stderr);
        // The message still says where to look.
        assert!(
            run.stderr.contains("line") || run.stderr.contains("column"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_headerless_client_upload_fails_without_echoing_its_first_record_in_the_problem_or_the_log() {
    let dir = tmp();
    let store = demo_store(dir.path());
    let log = dir.path().join("serve.log");
    let auth = concat!(env!("CARGO_MANIFEST_DIR"), "/config/auth.example.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buurtcirkel"))
        .arg("--store")
        .arg(&store)
        .args(["serve", "--addr", "127.0.0.1:0", "--auth", auth])
        .env_remove("BUURTCIRKEL_STORE")
        .env_remove("BUURTCIRKEL_ADDR")
        .env_remove("BUURTCIRKEL_AUTH")
        .env("BUURTCIRKEL_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let mut base = String::new();
    let mut stdout_text = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        stdout_text.push_str(&line);
        stdout_text.push('\n');
        if let Some(rest) = line.split("listens on ").nth(1) {
            base = rest
                .split_whitespace()
                .next()
                .expect("url")
                .trim_end_matches('/')
                .to_string();
            break;
        }
    }
    assert!(!base.is_empty(), "no address line: {stdout_text}");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let mut bodies = String::new();
    for (name, text) in HEADERLESS {
        let r = http
            .post(format!("{base}/api/v1/imports/clients?filename={name}"))
            .header("authorization", "Bearer verander-mij-admin")
            .body(text.to_string())
            .send()
            .expect("upload");
        let status = r.status().as_u16();
        let body = r.text().expect("body");
        assert!((400..500).contains(&status), "{name}: {status} {body}");
        assert_no_secret(&format!("{name}: problem body"), &body);
        bodies.push_str(&body);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    for line in lines.map_while(Result::ok) {
        stdout_text.push_str(&line);
        stdout_text.push('\n');
    }
    assert!(
        bodies.contains("line") || bodies.contains("column"),
        "{bodies}"
    );
    assert_no_secret("server stdout", &stdout_text);
    assert_no_secret("server log", &std::fs::read_to_string(&log).expect("log"));
}
