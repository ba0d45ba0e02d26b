// Rust's standard library on WASI preview 1: files and folders in /sandbox,
// args and environment, stdin, clocks, sleeping (poll_oneoff), random bytes
// and HashMap's random keys. As the suite's contract: "FAIL: ..." on stderr
// for each failed check, "ok" last on stdout and exit 0 when all pass.
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// Raw preview 1 imports, for what std does not offer on stable Rust.
#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    fn random_get(buf: *mut u8, len: usize) -> u16;
    fn path_symlink(old: *const u8, old_len: usize, fd: u32, new: *const u8, new_len: usize)
        -> u16;
}

const SANDBOX_FD: u32 = 3;
const ERRNO_ISDIR: i32 = 31;
const ERRNO_NOENT: u16 = 44;
const ERRNO_PERM: u16 = 63;
const ERRNO_NOTCAPABLE: u16 = 76;

struct Checks {
    failures: usize,
}

impl Checks {
    fn expect(&mut self, condition: bool, what: &str) {
        if !condition {
            self.failures += 1;
            eprintln!("FAIL: {}", what);
        }
    }
    fn expect_eq<T: PartialEq + std::fmt::Debug>(&mut self, came: T, expected: T, what: &str) {
        if came != expected {
            self.failures += 1;
            eprintln!("FAIL: {}: expected {:?}, came {:?}", what, expected, came);
        }
    }
    // The check only goes on when the step worked.
    fn step<T, E: std::fmt::Debug>(&mut self, result: Result<T, E>, what: &str) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.failures += 1;
                eprintln!("FAIL: {}: expected success, came {:?}", what, error);
                None
            }
        }
    }
    fn expect_error_kind<T: std::fmt::Debug>(
        &mut self,
        result: std::io::Result<T>,
        kind: ErrorKind,
        what: &str,
    ) {
        match result {
            Err(error) if error.kind() == kind => {}
            other => {
                self.failures += 1;
                eprintln!("FAIL: {}: expected {:?}, came {:?}", what, kind, other);
            }
        }
    }
}

fn symlink(target: &str, link: &str) -> u16 {
    unsafe { path_symlink(target.as_ptr(), target.len(), SANDBOX_FD, link.as_ptr(), link.len()) }
}

fn check_args_and_env(c: &mut Checks) {
    let args: Vec<String> = std::env::args().collect();
    c.expect_eq(args.len(), 1, "argument count");
    c.expect(args.first().map_or(false, |a| a.ends_with(".wasm")), "argv[0] is the program's name");
    c.expect_eq(std::env::var("CONFORMANCE_ENV").ok(), Some("present".to_string()), "CONFORMANCE_ENV");
    c.expect_eq(std::env::var("CONFORMANCE_EMPTY").ok(), Some(String::new()), "CONFORMANCE_EMPTY");
    c.expect_eq(std::env::var("PATH").ok(), None, "PATH is not given");
    let mut names: Vec<String> = std::env::vars().map(|(name, _)| name).collect();
    names.sort();
    c.expect_eq(names, vec!["CONFORMANCE_EMPTY".to_string(), "CONFORMANCE_ENV".to_string()], "environment");
}

fn check_stdin(c: &mut Checks) {
    let mut text = String::new();
    if c.step(std::io::stdin().read_to_string(&mut text), "read stdin").is_some() {
        c.expect_eq(text.as_str(), "conformance stdin\n", "stdin content");
    }
    // At the end, reads give nothing.
    let mut more = [0u8; 8];
    c.expect_eq(std::io::stdin().read(&mut more).ok(), Some(0), "stdin at its end");
}

fn check_files(c: &mut Checks) {
    c.step(fs::create_dir("/sandbox/dir"), "create_dir");
    c.expect_error_kind(fs::create_dir("/sandbox/dir"), ErrorKind::AlreadyExists, "create_dir twice");
    c.expect_error_kind(File::open("/sandbox/missing"), ErrorKind::NotFound, "open a missing file");

    if let Some(mut file) = c.step(File::create("/sandbox/dir/a.txt"), "create a.txt") {
        c.step(file.write_all(b"hello world"), "write a.txt");
        c.step(file.sync_all(), "sync a.txt");
    }
    c.expect_eq(fs::read_to_string("/sandbox/dir/a.txt").ok(), Some("hello world".to_string()), "read a.txt");

    let opened = OpenOptions::new().read(true).write(true).open("/sandbox/dir/a.txt");
    if let Some(mut file) = c.step(opened, "open a.txt read-write") {
        c.expect_eq(file.seek(SeekFrom::Start(6)).ok(), Some(6), "seek to 6");
        let mut word = String::new();
        c.step(file.read_to_string(&mut word), "read after seek");
        c.expect_eq(word.as_str(), "world", "read after seek");
        c.expect_eq(file.seek(SeekFrom::End(-5)).ok(), Some(6), "seek from the end");
        c.expect_eq(file.seek(SeekFrom::Current(2)).ok(), Some(8), "seek from the current position");
        c.expect(file.seek(SeekFrom::Current(-100)).is_err(), "seek before the start fails");
        if let Some(meta) = c.step(file.metadata(), "metadata of an open file") {
            c.expect_eq(meta.len(), 11, "length");
            c.expect(meta.is_file(), "is a file");
            let recent = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok());
            c.expect(recent.map_or(false, |d| d.as_secs() > 1_577_836_800), "modification time after 2020");
        }
        c.step(file.set_len(5), "set_len(5)");
        c.expect_eq(fs::metadata("/sandbox/dir/a.txt").map(|m| m.len()).ok(), Some(5), "length after set_len");
        c.step(file.set_len(8), "set_len(8)");
        c.expect_eq(fs::read("/sandbox/dir/a.txt").ok(), Some(b"hello\0\0\0".to_vec()), "grown with zeros");
    }

    let appending = OpenOptions::new().append(true).open("/sandbox/dir/a.txt");
    if let Some(mut file) = c.step(appending, "open for append") {
        c.step(file.write_all(b"!"), "append");
    }
    c.expect_eq(fs::metadata("/sandbox/dir/a.txt").map(|m| m.len()).ok(), Some(9), "length after append");
    c.expect_error_kind(
        OpenOptions::new().write(true).create_new(true).open("/sandbox/dir/a.txt"),
        ErrorKind::AlreadyExists,
        "create_new on an existing file",
    );

    c.step(fs::write("/sandbox/dir/b.txt", b"bee"), "write b.txt");
    c.expect_eq(fs::copy("/sandbox/dir/b.txt", "/sandbox/dir/c.txt").ok(), Some(3), "copy");
    c.step(fs::create_dir_all("/sandbox/dir/sub/deeper"), "create_dir_all");
    let mut names: Vec<String> = match fs::read_dir("/sandbox/dir") {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(error) => {
            c.expect(false, &format!("read_dir: {:?}", error));
            Vec::new()
        }
    };
    names.sort();
    c.expect_eq(names, vec!["a.txt", "b.txt", "c.txt", "sub"].iter().map(|s| s.to_string()).collect(), "read_dir names");
    c.expect(fs::read_dir("/sandbox/dir/a.txt").is_err(), "read_dir on a file fails");

    c.step(fs::rename("/sandbox/dir/c.txt", "/sandbox/dir/sub/moved.txt"), "rename");
    c.expect_error_kind(fs::metadata("/sandbox/dir/c.txt"), ErrorKind::NotFound, "renamed file's old name");
    c.expect_eq(fs::read("/sandbox/dir/sub/moved.txt").ok(), Some(b"bee".to_vec()), "renamed file's content");

    // Refusals: each must fail, with the kernel's answer where std shows it.
    if let Some(mut file) = c.step(File::open("/sandbox/dir/b.txt"), "open b.txt read-only") {
        c.expect(file.write_all(b"x").is_err(), "write to a file opened read-only fails");
    }
    if let Some(mut folder) = c.step(File::open("/sandbox/dir"), "open a folder") {
        let mut byte = [0u8; 1];
        c.expect(folder.read(&mut byte).is_err(), "read from a folder fails");
    }
    c.expect(fs::metadata("/sandbox/dir").map(|m| m.is_dir()).unwrap_or(false), "a folder's metadata says folder");
    c.expect(fs::remove_dir("/sandbox/dir").is_err(), "remove_dir of a non-empty folder fails");
    c.expect_eq(
        fs::remove_file("/sandbox/dir/sub/").err().and_then(|e| e.raw_os_error()),
        Some(ERRNO_ISDIR),
        "remove_file of \"folder/\" (errno)",
    );
    c.expect(fs::hard_link("/sandbox/dir/b.txt", "/sandbox/dir/slash/").is_err(), "hard_link to \"name/\" fails");

    c.step(fs::hard_link("/sandbox/dir/b.txt", "/sandbox/dir/sub/link.txt"), "hard_link");
    c.step(fs::write("/sandbox/dir/b.txt", b"wasp"), "write through one name");
    c.expect_eq(fs::read("/sandbox/dir/sub/link.txt").ok(), Some(b"wasp".to_vec()), "read through the other");
}

fn check_symlinks_and_escapes(c: &mut Checks) {
    c.expect_eq(symlink("a.txt", "dir/sym"), 0, "path_symlink to a relative target");
    c.expect_eq(
        fs::read_link("/sandbox/dir/sym").ok().map(|p| p.to_string_lossy().into_owned()),
        Some("a.txt".to_string()),
        "read_link",
    );
    if let Some(meta) = c.step(fs::symlink_metadata("/sandbox/dir/sym"), "symlink_metadata") {
        c.expect(meta.file_type().is_symlink(), "symlink_metadata says symlink");
    }
    c.expect_eq(fs::metadata("/sandbox/dir/sym").map(|m| m.len()).ok(), Some(9), "metadata follows the link");
    c.expect_eq(fs::read("/sandbox/dir/sym").ok().map(|b| b.len()), Some(9), "open follows the link");
    c.expect_eq(symlink("a.txt", "dir/slash/"), ERRNO_NOENT, "path_symlink to \"name/\" (errno)");
    c.expect_eq(symlink("nowhere", "dir/dangling"), 0, "path_symlink to a missing target");
    c.expect_error_kind(fs::read("/sandbox/dir/dangling"), ErrorKind::NotFound, "open a dangling link");
    let absolute = symlink("/etc/passwd", "dir/absolute");
    c.expect(absolute == ERRNO_PERM || absolute == ERRNO_NOTCAPABLE,
             &format!("path_symlink to an absolute target: expected PERM or NOTCAPABLE, came {}", absolute));
    c.expect(fs::read("/sandbox/../etc/passwd").is_err(), "open through .. out of the sandbox fails");
    c.expect(fs::read("/etc/passwd").is_err(), "open outside every preopen fails");
    c.expect_eq(symlink("../..", "dir/up"), 0, "path_symlink to a target above the sandbox");
    c.expect(fs::read_dir("/sandbox/dir/up").is_err(), "following a link out of the sandbox fails");

    c.step(fs::remove_file("/sandbox/dir/up"), "remove_file of a symlink");
    c.step(fs::remove_dir_all("/sandbox/dir"), "remove_dir_all");
    c.expect_error_kind(fs::metadata("/sandbox/dir"), ErrorKind::NotFound, "removed folder");
    let left: Vec<_> = fs::read_dir("/sandbox").map(|r| r.filter_map(|e| e.ok()).collect()).unwrap_or_default();
    c.expect_eq(left.len(), 0, "sandbox empty at the end");
}

fn check_clocks(c: &mut Checks) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    c.expect(now > 1_577_836_800, "the realtime clock is after 2020");
    let start = Instant::now();
    let again = Instant::now();
    c.expect(again >= start, "the monotonic clock does not go back");
    // poll_oneoff on a relative clock: a sleep lasts at least what was asked.
    std::thread::sleep(Duration::from_millis(5));
    c.expect(start.elapsed() >= Duration::from_millis(5), "a 5 ms sleep lasts at least 5 ms");
}

fn check_random(c: &mut Checks) {
    // Past 64 KiB: a host that fills only the first part leaves zeros.
    let mut first = vec![0u8; 100 * 1024];
    let mut second = vec![0u8; 100 * 1024];
    c.expect_eq(unsafe { random_get(first.as_mut_ptr(), first.len()) }, 0, "random_get");
    c.expect_eq(unsafe { random_get(second.as_mut_ptr(), second.len()) }, 0, "random_get again");
    c.expect(first != second, "two random buffers differ");
    c.expect(first[96 * 1024..].iter().any(|&b| b != 0), "random bytes past 64 KiB");
    // HashMap's RandomState asks random_get for its keys.
    let mut map = HashMap::new();
    for i in 0..1000 {
        map.insert(i.to_string(), i);
    }
    c.expect_eq(map.get("737").copied(), Some(737), "HashMap lookup");
}

fn main() {
    let mut c = Checks { failures: 0 };
    check_args_and_env(&mut c);
    check_stdin(&mut c);
    check_files(&mut c);
    check_symlinks_and_escapes(&mut c);
    check_clocks(&mut c);
    check_random(&mut c);
    if c.failures > 0 {
        eprintln!("{} checks failed", c.failures);
        std::process::exit(1);
    }
    println!("ok");
}
