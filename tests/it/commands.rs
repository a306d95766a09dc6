//! The `sandbox`, `targets`, `completions` and `man` subcommands as a user
//! runs them, and signing in to the sandbox as every target with the access
//! the sandbox crate publishes. Servers are this test's own, on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::*;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_sandbox_command_prints_its_url_first_and_serves_an_import() {
    let mut child = Child(
        Hrport::new(&["sandbox"])
            .arg("--listen", "127.0.0.1:0")
            .arg("--rate-limit", "6000")
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .expect("URL on the first line")
        .to_string();
    let second = lines.next().unwrap().unwrap();
    assert!(second.contains(&format!("--base-url {url}/tracktik")), "{second}");
    assert!(second.contains("HRPORT_TRACKTIK_USERNAME=api"), "{second}");

    let w = Work::new();
    let file = w.write(
        "h.csv",
        csv_text(&[
            "First Name,Last Name,Email,Region,Role",
            "Ana,Silva,ana@example.com,EMEA,Guard",
        ]),
    );
    let base = format!("{url}/tracktik");
    let r = Hrport::import(&file)
        .target("tracktik")
        .base_url(&base)
        .out(w.path("o"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    let r = Hrport::export()
        .target("tracktik")
        .base_url(&base)
        .output(w.path("e.csv"))
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(rows_by_name(&w.path("e.csv"))[0]["Email"], "ana@example.com");
}

#[test]
fn targets_lists_the_targets_and_their_template_columns() {
    let r = Hrport::new(&["targets"]).run();
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("tracktik       TrackTik (Guarding Suite REST v1)"), "{}", r.stdout);
    let r = Hrport::new(&["targets", "tracktik"]).run();
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("| Employee ID | Employee Number, Custom ID | `customId` |  | text |"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("| Region |  | `region` | yes | region name or id |"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("| Role |  | (follow-up step) | yes | role name or id |"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("HRPORT_TRACKTIK_CLIENT_SECRET"), "{}", r.stdout);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["import"][..],
        &["import", "x.csv", "--target", "nope"],
        &["import", "x.csv", "--target", "tracktik", "--sandbox", "--base-url", "http://x"],
        &["frobnicate"],
    ] {
        let r = Hrport::new(args).run();
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
    }
    let w = Work::new();
    let f =
        w.write("h.csv", "First Name,Last Name,Email,Region,Role\nA,B,a@example.com,EMEA,Guard\n");
    let r = Hrport::import(&f).target("tracktik").run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("say where to import: --base-url URL"), "{}", r.stderr);
    let r = Hrport::import(&f).target("tracktik").flag("--sandbox").arg("--rate", "0").run();
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--rate must be"), "{}", r.stderr);
}

#[test]
fn plain_http_to_another_machine_is_refused_before_anything_is_read_or_written() {
    let w = Work::new();
    let f =
        w.write("h.csv", "First Name,Last Name,Email,Region,Role\nA,B,a@example.com,EMEA,Guard\n");
    let out = w.path("out");
    let r = Hrport::import(&f)
        .target("tracktik")
        .base_url("http://acme.staffr.us")
        .out(&out)
        .envs(&TT_ENV)
        .run();
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("plain http to another machine: use https://"), "{}", r.stderr);
    assert!(!out.exists(), "no empty output folder is left behind");
}

/// Every target against the sandbox, with the URL prefix and credentials the
/// sandbox crate publishes for it (the only place they are written): signing
/// in and listing work there, and through `--sandbox`; changed credentials
/// are refused, so the published ones are the ones the imitation checks.
#[test]
fn every_target_signs_in_to_the_sandbox_with_the_access_it_publishes() {
    let sb = sandbox();
    let w = Work::new();
    // The sandbox imitates every target, and nothing else.
    let mut targets: Vec<&str> =
        hrport::targets::TARGETS.iter().map(|t| t.info().template.name).collect();
    let mut imitated: Vec<&str> = hrport_sandbox::VENDORS.iter().map(|a| a.vendor).collect();
    targets.sort();
    imitated.sort();
    assert_eq!(targets, imitated);
    assert_eq!(targets.len(), 6);
    for t in hrport::targets::TARGETS {
        let info = t.info();
        let name = info.template.name;
        let access = access(name);
        // `--sandbox` hands the target every credential it reads, no other.
        let mut given: Vec<&str> = access.credentials.iter().map(|(k, _)| *k).collect();
        let mut read: Vec<&str> = info.credentials.iter().map(|c| c.field).collect();
        given.sort();
        read.sort();
        assert_eq!(given, read, "{name}");
        // Every export opens with the record's own id.
        let columns: Vec<&str> = std::iter::once(hrport::mapping::ID_COLUMN)
            .chain(info.template.fields.iter().map(|f| f.column))
            .collect();

        let out = w.path(&format!("{name}.csv"));
        let r = export_from(&sb, name, &out, &[]);
        assert_eq!(r.code, 0, "{name}: {r:?}");
        assert_eq!(read_csv(&out)[0], columns, "{name}");

        let url = format!("{}{}", sb.url(), access.prefix);
        let wrong: Vec<(String, String)> =
            sandbox_env(name).into_iter().map(|(k, v)| (k, format!("{v}-changed"))).collect();
        let wrong: Vec<(&str, &str)> =
            wrong.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let refused = w.path(&format!("{name}-refused.csv"));
        let r = Hrport::export().target(name).base_url(&url).output(&refused).envs(&wrong).run();
        assert_eq!(r.code, 3, "{name}: {r:?}");

        let own = w.path(&format!("{name}-own.csv"));
        let r = Hrport::export().target(name).flag("--sandbox").output(&own).run();
        assert_eq!(r.code, 0, "{name}: {r:?}");
        assert!(
            r.stderr.contains(&format!("{}\u{20}(demo data", access.prefix)),
            "{name}: {}",
            r.stderr
        );
        assert_eq!(read_csv(&own)[0], columns, "{name}");
    }
}

#[test]
fn completions_cover_every_subcommand_and_flag_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _hrport"),
        ("zsh", "#compdef hrport"),
        ("fish", "complete -c hrport"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = Hrport::new(&["completions", shell]).run();
        assert_eq!(r.code, 0, "{shell}: {r:?}");
        assert!(r.stdout.contains(marker), "{shell}: {}", r.stdout);
        // The targets' own switches are in the command as well.
        for word in
            ["import", "export", "profile", "max-retries", "dry-run", "fault-seed", "enable-login"]
        {
            assert!(r.stdout.contains(word), "{shell} lacks {word}");
        }
        assert_eq!(r.stderr, "", "{shell}");
    }
    // The bash script is one bash accepts.
    let w = Work::new();
    let script = w.write("hrport.bash", Hrport::new(&["completions", "bash"]).run().stdout);
    let check = Command::new("bash").arg("-n").arg(&script).output().expect("run bash -n");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    let r = Hrport::new(&["completions", "tcsh"]).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("invalid value 'tcsh'"), "{}", r.stderr);
}

#[test]
fn man_prints_hrport_1_and_a_page_per_subcommand() {
    let r = Hrport::new(&["man"]).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\n.TH hrport 1 "), "{}", r.stdout);
    assert!(r.stdout.contains("hrport 0.1.0"), "{}", r.stdout);
    for sub in ["import", "export", "sandbox", "profile", "targets", "completions", "man"] {
        assert!(r.stdout.contains(&format!("hrport\\-{sub}(1)")), "{sub}: {}", r.stdout);
    }

    let r = Hrport::new(&["man", "import"]).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\n.TH hrport-import 1 "), "{}", r.stdout);
    assert!(r.stdout.contains("hrport 0.1.0"), "{}", r.stdout);
    for flag in [
        "\\-\\-max\\-retries",
        "\\-\\-dry\\-run",
        "\\-\\-sandbox",
        "\\-\\-base\\-url",
        "\\-\\-create\\-groups",
    ] {
        assert!(r.stdout.contains(flag), "{flag}: {}", r.stdout);
    }
    let r = Hrport::new(&["man", "profile", "init"]).run();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\n.TH hrport-profile-init 1 "), "{}", r.stdout);

    let r = Hrport::new(&["man", "imprt"]).run();
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("hrport has no subcommand \"imprt\""), "{}", r.stderr);
}
