//! Headless Chromium for the tests that look at Lifeboat's HTML pages (the run reports, the
//! posture page): a screenshot at 1280 px wide, and the DOM Chromium rendered, to read figures
//! back from. Chromium comes from Debian's packages (`apt-get install -y chromium`, which
//! `.ci/run` does when it is missing); `LIFEBOAT_CHROMIUM` names another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium binary, or a failure that says how to get one.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LIFEBOAT_CHROMIUM") {
        return PathBuf::from(path);
    }
    let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
    if let Some(found) = candidates.iter().map(Path::new).find(|p| p.exists()) {
        return found.to_path_buf();
    }
    panic!(
        "headless Chromium is needed to render the HTML reports and was not found at {}: \
         install Debian's package (`apt-get install -y chromium`; `.ci/run` does it when it is \
         missing), or set LIFEBOAT_CHROMIUM to a Chromium or Chrome binary",
        candidates.join(" or ")
    );
}

/// Chromium as the machine allows it: headless, no sandbox (CI runs as root), and none of the
/// background connections that a closed network refuses; a fresh profile per run.
fn headless(profile: &Path) -> Command {
    let mut command = Command::new(binary());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// Renders `page`: a screenshot at 1280 px wide into `png`, and the DOM Chromium built.
pub fn render(page: &Path, png: &Path, height: u32) -> String {
    let url = format!("file://{}", page.display());
    let profile = page.with_extension("profile");
    let shot = headless(&profile)
        .arg(format!("--window-size=1280,{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success() && png.exists(),
        "chromium could not take the screenshot of {url}: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let dom = headless(&profile)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "chromium could not render {url}: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8(dom.stdout).expect("the DOM is UTF-8")
}

/// The text of a DOM as a reader sees it: each tag a space, the entities read, spaces
/// collapsed (`Restore time 12 s 12 s, requested → available`).
pub fn text_of(dom: &str) -> String {
    let body = dom.split("<body>").nth(1).unwrap_or(dom);
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Roughly how tall a page is at 1280 px, so its screenshot shows all of it.
pub fn page_height(html: &str) -> u32 {
    let count = |needle: &str| html.matches(needle).count() as u32;
    (300 + 130 * count("<section")
        + 48 * count("<tr")
        + 80 * count("<li")
        + 70 * count("<div class=\"problem\""))
    .clamp(900, 8000)
}

pub fn png_is_a_screenshot(png: &Path) {
    let bytes = std::fs::read(png).expect("the screenshot exists");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "{} is not a screenshot ({} bytes)",
        png.display(),
        bytes.len()
    );
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1280, "{}", png.display());
}
