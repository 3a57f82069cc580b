use super::*;

fn parse(input: &[u8]) -> (Vec<Entry>, Vec<Warning>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for event in DumpParser::new(input) {
        match event {
            Event::Entry(e) => entries.push(e),
            Event::Warning(w) => warnings.push(w),
        }
    }
    (entries, warnings)
}

#[test]
fn header_then_entries() {
    let (entries, warnings) = parse(
        b"Site\n\nWorld\n\nFirst title 10.02.2026\nBody one.\nSecond 09.02.2026\nBody two.\n",
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].title, "First title");
    assert_eq!(
        entries[0].date,
        NaiveDate::from_ymd_opt(2026, 2, 10).unwrap()
    );
    assert_eq!(entries[0].line, 5);
    assert_eq!(entries[1].body, "Body two.");
}

#[test]
fn crlf_bom_and_invalid_utf8() {
    let (entries, warnings) =
        parse(b"\xEF\xBB\xBFSite\r\n\r\nWorld\r\n\r\nT\xFFitle 10.02.2026\r\nBo\x01dy.\r\n");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(entries[0].title, "T\u{FFFD}itle");
    assert_eq!(entries[0].body, "Body.");
}

#[test]
fn impossible_date_skips_the_entry_and_its_body() {
    let (entries, warnings) =
        parse(b"Site\nWorld\nBad 31.02.2026\nits body\nGood 01.03.2026\nok.\n");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].title, "Good");
    assert_eq!(
        warnings,
        vec![Warning {
            line: 3,
            reason: SkipReason::ImpossibleDate("31.02.2026".into())
        }]
    );
}

#[test]
fn a_title_over_the_limit_is_reported_as_such_and_skipped_with_its_body() {
    let long = "Word ".repeat(MAX_TITLE_CHARS / 5 + 1);
    let input = format!("Site\nWorld\n{long}10.02.2026\nIts body.\nGood 01.03.2026\nok.\n");
    let (entries, warnings) = parse(input.as_bytes());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].title, "Good");
    assert_eq!(
        warnings,
        vec![Warning {
            line: 3,
            reason: SkipReason::TitleTooLong
        }]
    );
    assert_eq!(
        SkipReason::TitleTooLong.to_string(),
        format!("title longer than {MAX_TITLE_CHARS} characters; entry skipped")
    );
    // After a title, a long line ending in a date is its body.
    let body = format!("Site\nWorld\nTitle 10.02.2026\n{long}10.02.2026\n");
    let (entries, warnings) = parse(body.as_bytes());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(entries.len(), 1);
}

#[test]
fn the_site_line_names_the_site_unless_it_is_not_a_name() {
    let mut parser = DumpParser::new(&b"<b>Enbekshi</b> QazaQ\nWorld\nT 10.02.2026\nB.\n"[..]);
    assert!(parser.next().is_some());
    assert_eq!(parser.site(), Some("Enbekshi QazaQ"));
    let long = format!(
        "{}\nWorld\nT 10.02.2026\nB.\n",
        "x".repeat(MAX_SITE_CHARS + 1)
    );
    let mut parser = DumpParser::new(long.as_bytes());
    assert!(parser.next().is_some());
    assert_eq!(parser.site(), None);
}

#[test]
fn title_without_body() {
    let (entries, warnings) =
        parse(b"Site\nWorld\nLonely 10.02.2026\nNext 10.02.2026\nBody.\nLast 10.02.2026\n");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].title, "Next");
    assert_eq!(warnings.len(), 2);
    assert_eq!(
        warnings[0],
        Warning {
            line: 3,
            reason: SkipReason::NoBody
        }
    );
    assert_eq!(
        warnings[1],
        Warning {
            line: 6,
            reason: SkipReason::NoBody
        }
    );
}

#[test]
fn truncated_last_line() {
    let (entries, warnings) =
        parse(b"Site\nWorld\nA 10.02.2026\nDone.\nB 10.02.2026\nThe meeting was att");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        warnings,
        vec![Warning {
            line: 6,
            reason: SkipReason::Truncated
        }]
    );
    // A complete last line without a line end is fine.
    let (entries, warnings) = parse(b"Site\nWorld\nA 10.02.2026\nDone.");
    assert_eq!((entries.len(), warnings.len()), (1, 0));
    // So is a truncated title line: reported as stray text.
    let (entries, warnings) = parse(b"Site\nWorld\nA 10.02.2026\nDone.\nKAZAKHSTAN TAKES A ST");
    assert_eq!(entries.len(), 1);
    assert_eq!(
        warnings,
        vec![Warning {
            line: 5,
            reason: SkipReason::StrayLine
        }]
    );
}

#[test]
fn stray_text_between_entries() {
    let (entries, warnings) =
        parse(b"Site\nWorld\nA 10.02.2026\nDone.\nextra line\nB 11.02.2026\nMore.\n");
    assert_eq!(entries.len(), 2);
    assert_eq!(
        warnings,
        vec![Warning {
            line: 5,
            reason: SkipReason::StrayLine
        }]
    );
}

#[test]
fn over_long_line_is_skipped_without_holding_it() {
    let mut input = b"Site\nWorld\nA 10.02.2026\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
    input.extend(b"\nB 11.02.2026\nFine.\n");
    let (entries, warnings) = parse(&input);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].title, "B");
    assert_eq!(
        warnings[0],
        Warning {
            line: 4,
            reason: SkipReason::LineTooLong
        }
    );
    assert_eq!(
        warnings[1],
        Warning {
            line: 3,
            reason: SkipReason::NoBody
        }
    );
}

#[test]
fn cyrillic_and_emoji() {
    let (entries, _) = parse("Сайт\nМир\nВакцинация 🎉 10.02.2026\nКорь 😷.\n".as_bytes());
    assert_eq!(entries[0].title, "Вакцинация 🎉");
    assert_eq!(entries[0].body, "Корь 😷.");
}

#[test]
fn seed_has_twenty_entries() {
    let seed = include_bytes!("../../../tests/fixtures/seed.txt");
    let (entries, warnings) = parse(seed);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(entries.len(), 20);
    assert!(
        entries
            .iter()
            .all(|e| e.date == NaiveDate::from_ymd_opt(2026, 2, 10).unwrap())
    );
}
