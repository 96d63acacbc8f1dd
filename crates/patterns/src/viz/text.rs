//! How much room a line of text takes, and how to break it: what every layout in `viz` needs to
//! place labels without collisions before anything is drawn.
//!
//! Widths are measured with the advance widths of DejaVu Sans, the widest of the common
//! `sans-serif` faces (Linux's default; Helvetica and Arial are narrower), so a box computed here
//! holds the text whichever of them the reader's browser picks.

/// Advance widths of DejaVu Sans (Book) for ASCII 32..=126, in thousandths of an em.
const REGULAR: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];

/// The same for DejaVu Sans Bold.
const BOLD: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
    683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
    724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
    343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];

/// Line height as a multiple of the font size: the box a line of text occupies.
pub const LINE_HEIGHT: f64 = 1.25;

/// The width of one character in ems.
fn advance(c: char, bold: bool) -> f64 {
    let code = c as u32;
    let table = if bold { &BOLD } else { &REGULAR };
    let thousandths = match code {
        32..=126 => f64::from(table[(code - 32) as usize]),
        // × (the multiplication sign), then Latin-1 and Latin Extended letters: about a capital.
        0xA0 => 318.0,
        0xD7 => 838.0,
        0xA1..=0x24F => 700.0,
        // Dashes, ellipsis, vertical ellipsis: a full em.
        0x2013 => 500.0,
        0x2014 | 0x2026 | 0x22EE => 1000.0,
        // Arrows, mathematical operators, ✓ ✕ ✗: DejaVu draws these 838 wide.
        0x2190..=0x22FF | 0x2713..=0x2717 => 838.0,
        // Box drawing, geometric shapes.
        0x2500..=0x25FF => 873.0,
        // Emoji (⏱ and friends) come from a colour font and are wider than an em.
        0x2300..=0x23FF | 0x2600..=0x27BF | 0x1F000..=0x1FAFF => 1250.0,
        // CJK and everything else: assume a full em.
        _ => 1000.0,
    };
    thousandths / 1000.0
}

/// The width of `text` set in `size_px` pixels.
pub fn text_width(text: &str, size_px: f64, bold: bool) -> f64 {
    text.chars().map(|c| advance(c, bold)).sum::<f64>() * size_px
}

/// Breaks `text` into lines no wider than `max_width_px`: at spaces where it can, inside a word
/// only when one word alone is too wide (after `-`, `_`, `,` or `/` if there is one). Never drops
/// a character, so a note that had to be cut still says everything (the reader can tell
/// `minority_attempt` from `minority_again`).
pub fn wrap(text: &str, size_px: f64, bold: bool, max_width_px: f64) -> Vec<String> {
    let max = max_width_px.max(size_px * 2.0);
    let fits = |s: &str| text_width(s, size_px, bold) <= max;
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let joined = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if fits(&joined) {
                line = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if fits(word) {
                line = word.to_string();
                continue;
            }
            // One word wider than a line: break it, preferring a punctuation boundary.
            let mut rest: &str = word;
            while !fits(rest) {
                let mut cut = 0;
                let mut soft = None;
                for (i, c) in rest.char_indices() {
                    let end = i + c.len_utf8();
                    if !fits(&rest[..end]) {
                        break;
                    }
                    cut = end;
                    if matches!(c, '-' | '_' | ',' | '/' | '.' | ':') {
                        soft = Some(end);
                    }
                }
                let cut = match soft {
                    Some(s) if s * 2 >= cut => s,
                    _ => cut.max(rest.chars().next().map_or(1, char::len_utf8)),
                };
                lines.push(rest[..cut].to_string());
                rest = &rest[cut..];
            }
            line = rest.to_string();
        }
        lines.push(line);
    }
    while lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

/// Breaks a short label (a message type) to fit `max_width_px`: at spaces, then between the
/// words of a CamelCase name (`AppendEntries` / `Response`), inside a word only as a last resort.
pub fn wrap_name(text: &str, size_px: f64, bold: bool, max_width_px: f64) -> Vec<String> {
    if text_width(text, size_px, bold) <= max_width_px {
        return vec![text.to_string()];
    }
    // Tokens, each with whether a space comes before it.
    let mut tokens: Vec<(String, bool)> = Vec::new();
    for (w, word) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
        let mut piece = String::new();
        let mut previous: Option<char> = None;
        let mut first = true;
        for c in word.chars() {
            let boundary = c.is_uppercase()
                && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
            if boundary && !piece.is_empty() {
                tokens.push((std::mem::take(&mut piece), first && w > 0));
                first = false;
            }
            piece.push(c);
            previous = Some(c);
        }
        if !piece.is_empty() {
            tokens.push((piece, first && w > 0));
        }
    }
    let fits = |s: &str| text_width(s, size_px, bold) <= max_width_px;
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (token, space) in tokens {
        let joined = if line.is_empty() {
            token.clone()
        } else if space {
            format!("{line} {token}")
        } else {
            format!("{line}{token}")
        };
        if fits(&joined) {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if fits(&token) {
            line = token;
        } else {
            let mut pieces = wrap(&token, size_px, bold, max_width_px);
            line = pieces.pop().unwrap_or_default();
            lines.extend(pieces);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// An axis-aligned box in pixels: `x`, `y` its top-left corner.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, width: f64, height: f64) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    /// Whether the two boxes share some area (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right() - 1e-6
            && other.x < self.right() - 1e-6
            && self.y < other.bottom() - 1e-6
            && other.y < self.bottom() - 1e-6
    }

    /// The box grown by `by` pixels on every side.
    pub fn inflate(&self, by: f64) -> Rect {
        Rect::new(
            self.x - by,
            self.y - by,
            self.width + 2.0 * by,
            self.height + 2.0 * by,
        )
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Rect::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_font_table() {
        // "Get" is G (775) + e (615) + t (392) thousandths of an em.
        assert!((text_width("Get", 10.0, false) - 17.82).abs() < 1e-9);
        assert!(text_width("Get", 10.0, true) > text_width("Get", 10.0, false));
        assert!(text_width("W", 12.0, false) > text_width("i", 12.0, false) * 3.0);
        assert_eq!(text_width("", 12.0, false), 0.0);
        // A character outside the table is still given room.
        assert!(text_width("⏱", 12.0, false) >= 12.0);
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_never_loses_a_character() {
        let text = "write ledger minority_attempt_that_is_far_too_long_for_one_line";
        for width in [40.0, 80.0, 120.0, 400.0] {
            let lines = wrap(text, 12.0, false, width);
            assert!(
                lines
                    .iter()
                    .all(|l| text_width(l, 12.0, false) <= width.max(24.0)),
                "{width}: {lines:?}"
            );
            let joined: String = lines.concat();
            assert_eq!(
                joined.replace(' ', ""),
                text.replace(' ', ""),
                "no character lost at {width}"
            );
        }
        assert_eq!(wrap("a b", 12.0, false, 400.0), ["a b"]);
        assert_eq!(wrap("one two three", 12.0, false, 60.0)[0], "one two");
        assert_eq!(wrap("", 12.0, false, 60.0), [""]);
        assert_eq!(wrap("a\nb", 12.0, false, 600.0), ["a", "b"]);
    }

    #[test]
    fn names_break_between_their_words() {
        let w = |s: &str| text_width(s, 12.0, false);
        assert_eq!(
            wrap_name(
                "AppendEntriesResponse",
                12.0,
                false,
                w("AppendEntries") + 1.0
            ),
            ["AppendEntries", "Response"]
        );
        assert_eq!(
            wrap_name(
                "RequestVoteResponse (again)",
                12.0,
                false,
                w("RequestVote") + 1.0
            ),
            ["RequestVote", "Response", "(again)"]
        );
        assert_eq!(wrap_name("Get ×3", 12.0, false, 200.0), ["Get ×3"]);
        assert_eq!(
            wrap_name("SetOk (again)", 12.0, false, w("(again)") + 1.0),
            ["SetOk", "(again)"]
        );
    }

    #[test]
    fn boxes_overlap_only_when_they_share_area() {
        let a = Rect::new(0.0, 0.0, 10.0, 10.0);
        assert!(a.overlaps(&Rect::new(5.0, 5.0, 10.0, 10.0)));
        assert!(!a.overlaps(&Rect::new(10.0, 0.0, 10.0, 10.0)), "touching");
        assert!(!a.overlaps(&Rect::new(0.0, 11.0, 10.0, 10.0)));
        assert!(a.overlaps(&Rect::new(2.0, 2.0, 1.0, 1.0)), "inside");
        assert_eq!(
            a.union(&Rect::new(20.0, -5.0, 1.0, 1.0)),
            Rect::new(0.0, -5.0, 21.0, 15.0)
        );
    }
}
