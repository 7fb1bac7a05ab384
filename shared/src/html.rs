//! Self-contained HTML pages for people: each run's report (beside its JSON and Markdown) and
//! the posture page of `lifeboat status --html`. One page is one file with inline CSS and inline
//! SVG charts, no script, no font or image from the network: it opens from a mail attachment, an
//! S3 console download or a laptop with no network, at 3 a.m.
//!
//! Everything a page shows that came from AWS or the plan goes through [`escape`] (or
//! [`Html::text`]); only markup built here is [`Html::raw`]. The reports build their pages from
//! these pieces (frame, header, figures, table, timeline, charts, problems), so a page looks the
//! same whichever task made it.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::error::ErrorRecord;
use crate::record::{RunHeader, RunOutcome};

/// Text made safe to put into HTML, in element content and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A piece of markup. Made from text with [`Html::text`] (escaped), or from markup built in
/// this module with [`Html::raw`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    pub fn text(text: &str) -> Self {
        Html(escape(text))
    }

    /// Markup as it is: only for what this module or a report builds from escaped parts.
    pub fn raw(markup: impl Into<String>) -> Self {
        Html(markup.into())
    }

    /// Text in `<code>`, for identifiers, ARNs, SQL and AWS calls.
    pub fn code(text: &str) -> Self {
        Html(format!("<code>{}</code>", escape(text)))
    }

    /// `-` when there is nothing to show.
    pub fn code_or_dash(text: Option<&str>) -> Self {
        text.map_or_else(|| Html::text("-"), Html::code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The colour of a badge, a timeline dot or a chart bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Neutral,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Good => "good",
            Tone::Warn => "warn",
            Tone::Bad => "bad",
            Tone::Neutral => "neutral",
        }
    }

    fn colour(self) -> &'static str {
        match self {
            Tone::Good => "#1a7f37",
            Tone::Warn => "#b26b00",
            Tone::Bad => "#c62828",
            Tone::Neutral => "#57606a",
        }
    }

    pub fn of_ok(ok: bool) -> Self {
        if ok { Tone::Good } else { Tone::Bad }
    }

    pub fn of_outcome(outcome: Option<RunOutcome>) -> Self {
        match outcome {
            Some(RunOutcome::Succeeded) => Tone::Good,
            Some(RunOutcome::Partial) => Tone::Warn,
            Some(RunOutcome::Failed) => Tone::Bad,
            None => Tone::Neutral,
        }
    }
}

/// A small coloured label: an outcome, a verdict, an item's result.
pub fn badge(text: &str, tone: Tone) -> Html {
    Html(format!(
        r#"<span class="badge {}">{}</span>"#,
        tone.class(),
        escape(text)
    ))
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
header.run{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:20px 24px;margin-bottom:20px}
header.run .top{display:flex;align-items:center;gap:16px;flex-wrap:wrap}
header.run h1{font-size:24px;margin:0;font-weight:650}
header.run .sub{color:#57606a;margin:2px 0 12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:4px 16px;margin:0}
dl.meta dt{color:#57606a}
dl.meta dd{margin:0;overflow-wrap:anywhere}
section{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:16px 24px 20px;margin-bottom:20px}
section h2{font-size:17px;margin:0 0 12px;font-weight:650}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;color:#fff;white-space:nowrap}
header.run .badge{font-size:16px;padding:4px 16px}
.badge.good{background:#1a7f37}.badge.warn{background:#b26b00}.badge.bad{background:#c62828}.badge.neutral{background:#57606a}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.figure{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;background:#f6f8fa}
.figure .value{font-size:26px;font-weight:650;line-height:1.2}
.figure .label{color:#57606a;font-size:13px}
.figure .note{color:#57606a;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{color:#57606a;font-weight:600;border-bottom:1px solid #d0d7de}
td{overflow-wrap:break-word}
td code{overflow-wrap:anywhere}
code{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;border-radius:4px;padding:0 4px;overflow-wrap:anywhere}
ol.timeline{list-style:none;margin:0;padding:0 0 0 8px}
ol.timeline li{position:relative;padding:0 0 14px 24px;border-left:2px solid #d0d7de}
ol.timeline li:last-child{border-left-color:transparent}
ol.timeline .dot{position:absolute;left:-8px;top:3px;width:14px;height:14px;border-radius:50%;border:2px solid #fff}
ol.timeline .when{color:#57606a;font-size:13px;font-variant-numeric:tabular-nums}
ol.timeline .what{font-weight:600}
ol.timeline .detail{overflow-wrap:anywhere}
.problem{border-left:4px solid #c62828;background:#fff5f5;padding:8px 14px;margin-bottom:10px;border-radius:4px}
.problem .title{font-weight:600}
.problem .next{margin-top:4px}
.problem .next b{color:#1f2328}
p.empty{color:#57606a;margin:0}
footer{color:#57606a;font-size:12px;text-align:center;margin-top:8px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
"#;

/// A whole page: `<title>`, the style, the body's parts in order.
pub fn page(title: &str, parts: &[Html]) -> String {
    let mut body = String::new();
    for part in parts {
        body.push_str(&part.0);
        body.push('\n');
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}\
         <footer>Lifeboat · made {}</footer>\n</main>\n</body>\n</html>\n",
        escape(title),
        time_of(OffsetDateTime::now_utc())
    )
}

/// A titled section around `body`.
pub fn section(title: &str, body: Html) -> Html {
    Html(format!(
        "<section>\n<h2>{}</h2>\n{body}\n</section>",
        escape(title)
    ))
}

/// A time for people: RFC 3339 in UTC, to the second.
pub fn time_of(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A span of seconds for people: `45 s`, `12 min 5 s`, `3 h 12 min`, `2 days 4 h`.
pub fn span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        },
        s if s < 86_400 => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        s => match (s % 86_400) / 3600 {
            0 => format!("{} days", s / 86_400),
            h => format!("{} days {h} h", s / 86_400),
        },
    }
}

/// The head of a run's page: its title, the outcome badge (or `verdict`, for runs that have
/// one), and the header's plan, task, run id, trigger and times, then the task's own `extra`
/// facts.
pub fn run_header(
    title: &str,
    run: &RunHeader,
    verdict: Option<(&str, Tone)>,
    extra: Vec<(&str, Html)>,
) -> Html {
    let badge = match verdict {
        Some((text, tone)) => badge(text, tone),
        None => badge(
            &run.outcome
                .map_or("in progress".to_owned(), |o| o.to_string()),
            Tone::of_outcome(run.outcome),
        ),
    };
    let mut meta = vec![
        ("Plan", Html::code(&run.plan)),
        ("Task", Html::code(&run.task)),
        ("Run", Html::code(&run.run_id)),
        ("Trigger", Html::text(&run.trigger)),
        ("Started", Html::text(&time_of(run.started_at))),
    ];
    if let Some(finished) = run.finished_at {
        meta.push(("Finished", Html::text(&time_of(finished))));
        meta.push((
            "Took",
            Html::text(&span((finished - run.started_at).whole_seconds())),
        ));
    }
    if run.dry_run {
        meta.push(("Dry run", Html::text("yes: nothing was changed")));
    }
    meta.extend(extra);
    page_header(
        &format!("{title} — {}", run.plan),
        badge,
        &format!("Lifeboat {} run", run.task),
        &meta,
    )
}

/// A page's header: a title, a badge, a line under it and a grid of facts.
pub fn page_header(title: &str, badge: Html, subtitle: &str, meta: &[(&str, Html)]) -> Html {
    let mut out = format!(
        "<header class=\"run\">\n<div class=\"top\"><h1>{}</h1>{badge}</div>\n<p class=\"sub\">{}</p>\n<dl class=\"meta\">\n",
        escape(title),
        escape(subtitle)
    );
    for (term, value) in meta {
        let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", escape(term));
    }
    out.push_str("</dl>\n</header>");
    Html(out)
}

/// One figure: a big value, what it is, and a note under it.
pub struct Figure {
    pub label: String,
    pub value: String,
    pub note: String,
    pub tone: Tone,
}

impl Figure {
    pub fn new(label: &str, value: impl Into<String>, note: impl Into<String>) -> Self {
        Figure {
            label: label.to_owned(),
            value: value.into(),
            note: note.into(),
            tone: Tone::Neutral,
        }
    }

    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

/// The worst copy lag of a run's resources (`None`: a resource with no copy, the worst of all).
pub fn worst_lag(lags: impl IntoIterator<Item = Option<i64>>) -> Figure {
    let lags: Vec<Option<i64>> = lags.into_iter().collect();
    if lags.is_empty() {
        Figure::new("Worst copy lag", "-", "nothing to copy")
    } else if lags.contains(&None) {
        Figure::new("Worst copy lag", "no copy", "a resource has no copy yet").tone(Tone::Bad)
    } else {
        let worst = lags.into_iter().flatten().max().unwrap_or_default();
        Figure::new(
            "Worst copy lag",
            span(worst),
            "the RPO a failover would give now",
        )
    }
}

/// A lag cell: its span, or a red "no copy yet".
pub fn lag_cell(seconds: Option<i64>) -> Html {
    seconds.map_or_else(|| badge("no copy yet", Tone::Bad), |s| Html::text(&span(s)))
}

/// A time cell, or `-`.
pub fn time_cell(at: Option<OffsetDateTime>) -> Html {
    Html::text(&at.map_or("-".into(), time_of))
}

/// Figures as tiles.
pub fn figures(figures: &[Figure]) -> Html {
    let mut out = String::from("<div class=\"figures\">\n");
    for f in figures {
        let colour = match f.tone {
            Tone::Neutral => String::new(),
            tone => format!(" style=\"color:{}\"", tone.colour()),
        };
        let _ = writeln!(
            out,
            "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value\"{colour}>{}</div><div class=\"note\">{}</div></div>",
            escape(&f.label),
            escape(&f.value),
            escape(&f.note)
        );
    }
    out.push_str("</div>");
    Html(out)
}

/// A table, or `empty` said plainly when there are no rows.
pub fn table(headers: &[&str], rows: &[Vec<Html>], empty: &str) -> Html {
    if rows.is_empty() {
        return Html(format!("<p class=\"empty\">{}</p>", escape(empty)));
    }
    let mut out = String::from("<table>\n");
    if headers.iter().any(|h| !h.is_empty()) {
        out.push_str("<thead><tr>");
        for h in headers {
            let _ = write!(out, "<th>{}</th>", escape(h));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>");
    Html(out)
}

/// One step of a timeline.
pub struct Event {
    pub at: OffsetDateTime,
    pub what: String,
    pub ok: bool,
    pub detail: String,
    /// The AWS call it made, when it made one.
    pub call: Option<String>,
}

/// Steps in time order, each with its time and the time since the first.
pub fn timeline(events: &[Event]) -> Html {
    let Some(first) = events.iter().map(|e| e.at).min() else {
        return Html::raw("<p class=\"empty\">No step yet.</p>");
    };
    let mut out = String::from("<ol class=\"timeline\">\n");
    for e in events {
        let tone = Tone::of_ok(e.ok);
        let call = e.call.as_deref().map_or(String::new(), |c| {
            format!("<div class=\"call\">{}</div>", Html::code(c))
        });
        let _ = writeln!(
            out,
            "<li><span class=\"dot\" style=\"background:{}\"></span><div class=\"when\">{} (+{})</div>\
             <div><span class=\"what\">{}</span> {}</div><div class=\"detail\">{}</div>{call}</li>",
            tone.colour(),
            escape(&time_of(e.at)),
            span((e.at - first).whole_seconds()),
            escape(&e.what),
            if e.ok {
                String::new()
            } else {
                badge("failed", Tone::Bad).0
            },
            escape(&e.detail),
        );
    }
    out.push_str("</ol>");
    Html(out)
}

/// One bar: a label, a value in seconds, its colour.
pub struct Bar {
    pub label: String,
    /// `None`: nothing to measure (no copy yet), drawn as a note instead of a bar.
    pub seconds: Option<i64>,
    pub tone: Tone,
}

/// Horizontal bars, one per label, lengths to scale, each value written at its end.
pub fn bar_chart(title: &str, bars: &[Bar]) -> Html {
    if bars.is_empty() {
        return Html::raw("");
    }
    let (width, label_width, row) = (960.0_f64, 300.0_f64, 30.0_f64);
    let plot = width - label_width - 120.0;
    let max = bars
        .iter()
        .filter_map(|b| b.seconds)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let height = row * bars.len() as f64 + 10.0;
    let mut out = format!(
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
        escape(title),
        escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = i as f64 * row + 5.0;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\" fill=\"#1f2328\">{}</text>",
            label_width - 10.0,
            y + 16.0,
            escape(&shorten(&bar.label, 40))
        );
        match bar.seconds {
            Some(s) => {
                let w = (s.max(0) as f64 / max * plot).max(2.0);
                let _ = writeln!(
                    out,
                    "<rect x=\"{label_width}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" rx=\"3\" fill=\"{}\"><title>{}: {}</title></rect>\
                     <text x=\"{:.1}\" y=\"{}\" font-size=\"13\" fill=\"#1f2328\">{}</text>",
                    row - 10.0,
                    bar.tone.colour(),
                    escape(&bar.label),
                    span(s),
                    label_width + w + 6.0,
                    y + 16.0,
                    escape(&span(s))
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "<text x=\"{label_width}\" y=\"{}\" font-size=\"13\" font-weight=\"600\" fill=\"{}\">no copy yet</text>",
                    y + 16.0,
                    Tone::Bad.colour()
                );
            }
        }
    }
    out.push_str("</svg>");
    Html(out)
}

/// One line of a line chart: a name and its points (time, seconds).
pub struct Series {
    pub name: String,
    pub points: Vec<(OffsetDateTime, i64)>,
}

const PALETTE: [&str; 8] = [
    "#0969da", "#cf222e", "#1a7f37", "#8250df", "#b26b00", "#1b7c83", "#bf3989", "#57606a",
];

/// Values over time, one line per series, with the time and value axes, a dashed `limit` line
/// when given, and a legend. The unit of the value axis (s, min, h, days) follows the largest
/// value.
pub fn line_chart(title: &str, series: &[Series], limit: Option<(i64, &str)>) -> Html {
    let points: Vec<(OffsetDateTime, i64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    let (Some(t0), Some(t1)) = (
        points.iter().map(|p| p.0).min(),
        points.iter().map(|p| p.0).max(),
    ) else {
        return Html::raw("<p class=\"empty\">No run records to chart yet.</p>");
    };
    let (width, height) = (1000.0_f64, 340.0_f64);
    let (left, right, top, bottom) = (70.0, 20.0, 20.0, 50.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let data_max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    // The budget line only when it is near the data: a 7-day budget over lags of minutes would
    // flatten every line to the axis. Otherwise it is said under the chart.
    let limit_drawn = limit.filter(|(value, _)| *value <= data_max * 2);
    let max_value = data_max.max(limit_drawn.map_or(0, |l| l.0));
    let (unit, per) = match max_value {
        v if v >= 3 * 86_400 => ("days", 86_400.0),
        v if v >= 3 * 3600 => ("h", 3600.0),
        v if v >= 180 => ("min", 60.0),
        _ => ("s", 1.0),
    };
    let y_max = nice_ceiling(max_value as f64 / per);
    let seconds = |t: OffsetDateTime| (t - t0).as_seconds_f64();
    let span_s = seconds(t1).max(1.0);
    let x = |t: OffsetDateTime| left + seconds(t) / span_s * plot_w;
    let y = |v: i64| top + plot_h - (v as f64 / per) / y_max * plot_h;

    let mut out = format!(
        "<svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\n<title>{}</title>\n",
        escape(title),
        height + 24.0 * series.len().div_ceil(4) as f64,
        escape(title)
    );
    for i in 0..=4 {
        let value = y_max * f64::from(i) / 4.0;
        let yy = top + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{}\" y2=\"{yy:.1}\" stroke=\"#eaeef2\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#57606a\">{} {unit}</text>",
            left + plot_w,
            left - 8.0,
            yy + 4.0,
            trim_number(value)
        );
    }
    let ticks = if t1 == t0 { 0 } else { 4 };
    for i in 0..=ticks {
        let t = t0 + time::Duration::seconds_f64(span_s * f64::from(i) / 4.0);
        let label = time_of(t);
        // Month-day hour:minute, or the time to the second when the runs span under a day.
        let label = if span_s < 86_400.0 {
            label.get(11..19).unwrap_or(&label).to_owned()
        } else {
            label.get(5..16).unwrap_or(&label).replace('T', " ")
        };
        let anchor = match i {
            0 => "start",
            i if i == ticks => "end",
            _ => "middle",
        };
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"#57606a\">{}</text>",
            x(t),
            top + plot_h + 18.0,
            escape(&label)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#8c959f\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#57606a\">{}</text>",
        top + plot_h,
        left + plot_w,
        top + plot_h,
        left + plot_w / 2.0,
        top + plot_h + 36.0,
        escape(&match (limit, limit_drawn) {
            (Some((value, label)), None) => format!(
                "run time (UTC) · every value is far under {label} ({})",
                span(value)
            ),
            _ => "run time (UTC)".to_owned(),
        })
    );
    if let Some((value, label)) = limit_drawn {
        let yy = y(value);
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{}\" y2=\"{yy:.1}\" stroke=\"#c62828\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#c62828\">{}</text>",
            left + plot_w,
            left + plot_w - 4.0,
            yy - 5.0,
            escape(label)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let mut sorted = s.points.clone();
        sorted.sort_by_key(|p| p.0);
        let path: Vec<String> = sorted
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
            .collect();
        if sorted.len() > 1 {
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{} points=\"{}\"/>",
                // Every other line dashed: equal values stay visible one over the other.
                if i % 2 == 1 {
                    " stroke-dasharray=\"8 5\""
                } else {
                    ""
                },
                path.join(" ")
            );
        }
        for p in &sorted {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{}: {} at {}</title></circle>",
                x(p.0),
                y(p.1),
                escape(&s.name),
                span(p.1),
                escape(&time_of(p.0))
            );
        }
        let (lx, ly) = (
            left + (i % 4) as f64 * (plot_w / 4.0),
            height + 8.0 + (i / 4) as f64 * 24.0,
        );
        let _ = writeln!(
            out,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"14\" height=\"4\" fill=\"{colour}\"/>\
             <text x=\"{:.1}\" y=\"{ly:.1}\" font-size=\"13\" fill=\"#1f2328\">{}</text>",
            ly - 5.0,
            lx + 20.0,
            escape(&shorten(&s.name, 32))
        );
    }
    out.push_str("</svg>");
    Html(out)
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 {
        return 1.0;
    }
    let power = 10_f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|v| *v >= value)
        .unwrap_or(10.0 * power)
}

fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A long label cut to `max` characters, with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// Something that went wrong, and what to do about it.
pub struct Problem {
    /// What failed: the item, the step, the check.
    pub what: String,
    /// What AWS or the run said.
    pub detail: String,
    /// What to do next, when the code knows.
    pub next: Option<String>,
}

impl Problem {
    /// A problem whose next step is read from its error text ([`next_step`]) unless given.
    pub fn new(what: impl Into<String>, detail: impl Into<String>, next: Option<String>) -> Self {
        let detail = detail.into();
        let next = next.or_else(|| next_step(&detail));
        Problem {
            what: what.into(),
            detail,
            next,
        }
    }
}

/// The problems of a run, each with what to do next; a plain "no error" when there are none.
pub fn problems(problems: &[Problem]) -> Html {
    if problems.is_empty() {
        return Html::raw("<p class=\"empty\">No error.</p>");
    }
    let mut out = String::new();
    for p in problems {
        let next = p.next.as_deref().map_or(String::new(), |n| {
            format!(
                "<div class=\"next\"><b>What to do next:</b> {}</div>",
                escape(n)
            )
        });
        let _ = writeln!(
            out,
            "<div class=\"problem\"><div class=\"title\">{}</div><div class=\"detail\">{}</div>{next}</div>",
            escape(&p.what),
            escape(&p.detail)
        );
    }
    Html(out)
}

/// What to do about a failed item or step: the next step its error kept ([`ErrorRecord`], taken
/// from the [`crate::error::Error`] when it happened); for a record written before reports kept
/// their errors, or a detail that is not an error's, what [`next_step`] reads from its text.
pub fn next_step_of(error: Option<&ErrorRecord>, detail: &str) -> Option<String> {
    match error {
        Some(error) => error.next_step.clone(),
        None => next_step(detail),
    }
}

/// What to do about an error, read from the text Lifeboat's errors carry
/// ([`crate::error::Error`]'s messages name the action, the resource and the Region): `None`
/// when the text says nothing this knows.
pub fn next_step(detail: &str) -> Option<String> {
    let lower = detail.to_ascii_lowercase();
    // "KMS key {key} cannot be used in {region}: {message}"
    if let Some(rest) = detail.split("KMS key ").nth(1)
        && let Some((key, rest)) = rest.split_once(" cannot be used in ")
    {
        let region = rest.split(':').next().unwrap_or(rest);
        return Some(format!(
            "check that the KMS key {key} exists in {region} and is enabled, that it is a key of \
             that Region (a copy is re-encrypted there), and that its key policy lets Lifeboat's \
             role use it (kms:DescribeKey, kms:CreateGrant); then run the copy again"
        ));
    }
    // "access denied: {action} on {resource} in {region} ({message})"
    if let Some(rest) = detail.split("access denied: ").nth(1)
        && let Some((action, rest)) = rest.split_once(" on ")
    {
        let resource = rest.split(" in ").next().unwrap_or(rest);
        return Some(format!(
            "allow {action} on {resource} to the role Lifeboat runs as (the task's role in \
             template.yaml), and look for a service control policy or permission boundary that \
             denies it"
        ));
    }
    if lower.contains("throttl") || lower.contains("rate exceeded") {
        return Some(
            "AWS throttled the call: nothing to fix; the next run retries it. If it repeats, \
             lower the plan's copy limits"
                .into(),
        );
    }
    if lower.contains("is locked by run") {
        return Some(
            "another run holds the lease: wait until it ends (the time is in the message), \
             the next run carries on"
                .into(),
        );
    }
    if lower.contains("cannot connect to") {
        return Some(
            "the checks could not reach the restored database: check that the verification's \
             security group lets the function reach its port, and that the subnet group's \
             subnets route to it"
                .into(),
        );
    }
    if let Some((resource, region)) = detail.rsplit_once(" not found in ") {
        let region = region.split_whitespace().next().unwrap_or(region);
        return Some(format!(
            "check that {resource} exists in {region} and that the plan names it as AWS does"
        ));
    }
    if lower.contains("dispatch failure") || lower.contains("timed out") {
        return Some(
            "AWS could not be reached (network or endpoint): check the function's VPC routes or \
             endpoints; the next run retries"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn escape_makes_every_special_character_an_entity() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(
            escape("arn:aws:rds:us-east-2:1:snapshot:a-b"),
            "arn:aws:rds:us-east-2:1:snapshot:a-b"
        );
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(escape("é → ✓"), "é → ✓");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn text_from_aws_cannot_open_a_tag_in_any_piece() {
        let evil = "<img src=x onerror=alert(1)>";
        let parts = [
            Html::text(evil),
            Html::code(evil),
            badge(evil, Tone::Bad),
            table(&["a"], &[vec![Html::text(evil)]], ""),
            figures(&[Figure::new(evil, evil, evil)]),
            timeline(&[Event {
                at: datetime!(2026-11-26 07:00 UTC),
                what: evil.into(),
                ok: false,
                detail: evil.into(),
                call: Some(evil.into()),
            }]),
            bar_chart(
                evil,
                &[Bar {
                    label: evil.into(),
                    seconds: Some(5),
                    tone: Tone::Good,
                }],
            ),
            line_chart(
                evil,
                &[Series {
                    name: evil.into(),
                    points: vec![(datetime!(2026-11-26 07:00 UTC), 5)],
                }],
                Some((10, evil)),
            ),
            problems(&[Problem::new(evil, evil, Some(evil.into()))]),
        ];
        let page = page(evil, &parts);
        assert!(!page.contains("<img"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }

    #[test]
    fn a_page_loads_nothing_from_anywhere() {
        let page = page(
            "t",
            &[line_chart(
                "lag",
                &[Series {
                    name: "orders".into(),
                    points: vec![
                        (datetime!(2026-11-26 07:00 UTC), 3600),
                        (datetime!(2026-11-27 07:00 UTC), 7200),
                    ],
                }],
                None,
            )],
        );
        for needle in [
            "<script",
            "<link",
            "src=",
            "url(",
            "@import",
            "http://www.w3.org/1999",
        ] {
            assert!(!page.contains(needle), "{needle} in {page}");
        }
        // The SVG namespace is a name, not a download.
        assert!(page.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    }

    #[test]
    fn spans_read_as_people_write_them() {
        assert_eq!(span(-3), "0 s");
        assert_eq!(span(45), "45 s");
        assert_eq!(span(600), "10 min");
        assert_eq!(span(725), "12 min 5 s");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(11_520), "3 h 12 min");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2 days 4 h");
    }

    #[test]
    fn the_timeline_shows_each_step_with_its_offset() {
        let at = datetime!(2026-11-26 07:00 UTC);
        let html = timeline(&[
            Event {
                at,
                what: "restore".into(),
                ok: true,
                detail: "restoring".into(),
                call: None,
            },
            Event {
                at: at + time::Duration::seconds(725),
                what: "checks".into(),
                ok: false,
                detail: "1 of 2 failed".into(),
                call: Some("rds:DeleteDBInstance".into()),
            },
        ])
        .0;
        assert!(
            html.contains("2026-11-26T07:12:05Z (+12 min 5 s)"),
            "{html}"
        );
        assert!(html.contains("<code>rds:DeleteDBInstance</code>"));
        assert!(html.contains("badge bad\">failed"));
    }

    #[test]
    fn errors_get_the_next_step_their_kind_calls_for() {
        let kms = crate::error::Error::KmsKey {
            key: "arn:aws:kms:us-east-2:1:key/abc".into(),
            region: "us-east-2".parse().unwrap(),
            message: "DisabledException".into(),
        };
        let next = next_step(&kms.to_string()).unwrap();
        assert!(
            next.contains("KMS key arn:aws:kms:us-east-2:1:key/abc exists in us-east-2"),
            "{next}"
        );
        let denied = crate::error::Error::AccessDenied {
            action: "rds:CopyDBSnapshot".into(),
            resource: "orders-1".into(),
            region: "us-east-2".parse().unwrap(),
            message: "no".into(),
        };
        let next = next_step(&denied.to_string()).unwrap();
        assert!(
            next.starts_with("allow rds:CopyDBSnapshot on orders-1 to the role"),
            "{next}"
        );
        let missing = crate::error::Error::NotFound {
            resource: "DB instance orders".into(),
            region: "us-west-2".parse().unwrap(),
        };
        assert_eq!(
            next_step(&missing.to_string()).unwrap(),
            "check that DB instance orders exists in us-west-2 and that the plan names it as AWS does"
        );
        assert_eq!(next_step("found 3, expected >= 1000"), None);
    }

    #[test]
    fn nice_axis_tops() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(21.0), 25.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
    }
}
