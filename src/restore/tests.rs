use super::*;

/// The paragraphs (and `• item` / `1. item` lines) `text` is restored to.
fn restored(text: &str) -> Vec<String> {
    blocks(text)
        .into_iter()
        .flat_map(|b| match b {
            Block::Paragraph(p) => vec![p],
            Block::List(items) => items.into_iter().map(|i| format!("• {i}")).collect(),
            Block::Numbered(items) => items
                .into_iter()
                .enumerate()
                .map(|(n, i)| format!("{}. {i}", n + 1))
                .collect(),
        })
        .collect()
}

/// Glue points: each text is restored to the parts given (`|` between them).
const GLUED: &[(&str, &str)] = &[
    // en: sentence ends glued on
    (
        "talks with Joan Groizard.During the meeting, they met.",
        "talks with Joan Groizard.|During the meeting, they met.",
    ),
    (
        "villages!On March 7 at 10:00 AM.",
        "villages!|On March 7 at 10:00 AM.",
    ),
    (
        "return to Pavlodar.\"My son and I were lost,\" she said.",
        "return to Pavlodar.|\"My son and I were lost,\" she said.",
    ),
    (
        "growth reached 6.5%.Positive dynamics continue.",
        "growth reached 6.5%.|Positive dynamics continue.",
    ),
    (
        "the forum (2025).The next one is in May.",
        "the forum (2025).|The next one is in May.",
    ),
    (
        "he said “we will”.The talks went on.",
        "he said “we will”.|The talks went on.",
    ),
    (
        "the visit was a success.A new round is planned.",
        "the visit was a success.|A new round is planned.",
    ),
    (
        "in Astana.K.Tokayev then spoke.",
        "in Astana.|K.Tokayev then spoke.",
    ),
    // en: headings glued to their text
    (
        "Official EthicsThe Ethical Code sets the rules.",
        "Official Ethics|The Ethical Code sets the rules.",
    ),
    (
        "ReputationThe Ethical Code applies.",
        "Reputation|The Ethical Code applies.",
    ),
    (
        "Join the contestWe invite everyone.",
        "Join the contest|We invite everyone.",
    ),
    (
        "Held on 12 February 2026The meeting discussed trade.",
        "Held on 12 February 2026|The meeting discussed trade.",
    ),
    // ru
    (
        "Год 2025.Основным итогом стал рост.",
        "Год 2025.|Основным итогом стал рост.",
    ),
    (
        "укрепление доверия в обществе.В целях реализации задач.",
        "укрепление доверия в обществе.|В целях реализации задач.",
    ),
    (
        "прошла встреча.С участием министра обсудили планы.",
        "прошла встреча.|С участием министра обсудили планы.",
    ),
    (
        "Служебная этикаЭтический кодекс обязателен.",
        "Служебная этика|Этический кодекс обязателен.",
    ),
    (
        "рост составил 1,9%.Положительная динамика сохраняется.",
        "рост составил 1,9%.|Положительная динамика сохраняется.",
    ),
    (
        "на контрольВ целях проверки приняты меры.",
        "на контроль|В целях проверки приняты меры.",
    ),
    // kk
    (
        "Бүгін жиналыс өтті.Келесі жиналыс ертең.",
        "Бүгін жиналыс өтті.|Келесі жиналыс ертең.",
    ),
    (
        "Қазақстан жаңалықтарыБүгін маңызды кездесу өтті.",
        "Қазақстан жаңалықтары|Бүгін маңызды кездесу өтті.",
    ),
    (
        "Іс-шара «Жастар» орталығында өтті.Оған 200 адам қатысты.",
        "Іс-шара «Жастар» орталығында өтті.|Оған 200 адам қатысты.",
    ),
    // lists
    (
        "Civil servants must:• observe the law;• be polite.The Code also says more.",
        "Civil servants must:|• observe the law;|• be polite.|The Code also says more.",
    ),
    (
        "Мақсаттар:🔹 Бірінші мақсат;🔹 Екінші мақсат.",
        "Мақсаттар:|• Бірінші мақсат;|• Екінші мақсат.",
    ),
    (
        "Results:✅ roads repaired;✅ schools opened.",
        "Results:|• roads repaired;|• schools opened.",
    ),
    (
        "Steps:1️⃣ apply online;2️⃣ wait for the answer;🔟 done.",
        "Steps:|1. apply online;|2. wait for the answer;|3. done.",
    ),
];

/// Traps: each text stays one paragraph.
const WHOLE: &[&str] = &[
    // initials
    "President K. K. Tokayev spoke.",
    "Ambassador B.Sadykov participated.",
    "Chairman of the session, Ch.Omarov held talks.",
    "Deputy Minister Zh.Abdirov and Sh.Nurlanov attended.",
    "H.E. Azamat Yeskarayev met Dr.Smith.",
    "Министр Ж.Ахметов и Ш.Қасымов выступили.",
    "Әкім Қ.Тоқаев пен Ө.Сейіт кездесті.",
    "U.S.Army officers visited.",
    // numbers, times, dates
    "Growth was 0.9% and 5.9% in agriculture.",
    "Рост составил 1,9 процента в 2025 году.",
    "The meeting starts at 10.00 on 12.02.2026 in hall No. 5.",
    "See item No.5 of the list.",
    // domains and e-mail
    "See www.gov.kz and Gov.Kz for details.",
    "Write to press@mfa.Kz or visit Egov.Kz today.",
    // abbreviations of each language
    "Bring documents, forms etc. The office helps.",
    "Some items, e.g. Passports, are needed.",
    "Органы власти, т.е. Министерства, отчитались.",
    "Встреча прошла в г. Алматы и в обл. Жетісу.",
    "Улица им. Абая отремонтирована.",
    "2025 ж. Қаңтарда басталды.",
    // mixed-case names
    "KazMunayGas and QazaQ Air signed a deal.",
    "The iPhone and eGov apps work with YouTube.",
    "Lunch at McDonald was quick.",
    "ҚазҰУ и КазНУ провели конференцию.",
    // emphasis, not a list
    "All done ✅ and delivered.",
];

#[test]
fn glue_points_become_breaks() {
    for (text, expected) in GLUED {
        let expected: Vec<&str> = expected.split('|').collect();
        assert_eq!(restored(text), expected, "{text}");
    }
}

#[test]
fn traps_are_left_whole() {
    for text in WHOLE {
        assert_eq!(restored(text), vec![text.to_string()], "{text}");
    }
}

#[test]
fn a_wall_of_text_is_split_at_sentence_ends_into_readable_paragraphs() {
    let sentence = "The ministry held a meeting on the development of the region, and \
                    the participants discussed several questions of mutual interest. ";
    let wall = sentence.repeat(20);
    let parts = restored(wall.trim());
    assert!(parts.len() >= 4, "{} parts", parts.len());
    for part in &parts {
        let n = part.chars().count();
        assert!(
            (PARAGRAPH_CHARS / 2..=LONG_PARAGRAPH).contains(&n),
            "{n}: {part}"
        );
        assert!(part.ends_with('.'), "{part}");
    }
    assert_eq!(parts.join(" "), wall.trim());
    // Abbreviations and initials are no sentence ends there either.
    let wall = "Президент Қ.Тоқаев и т.е. Министр выступили на форуме, обсудив \
                вопросы развития региона и сотрудничества между странами. "
        .repeat(15);
    for part in restored(wall.trim()) {
        assert!(!part.ends_with("Қ.") && !part.ends_with("т.е."), "{part}");
    }
}

#[test]
fn a_wall_is_not_split_inside_a_quotation() {
    let sentence = "The ministry held a meeting on the development of the region, and \
                    the participants discussed several questions of mutual interest. ";
    for (open, close) in [("“", "”"), ("«", "»"), ("\"", "\"")] {
        let quoted = format!("{open}{}{close} he said. ", sentence.repeat(4).trim());
        let wall = format!("{}{quoted}{}", sentence.repeat(3), sentence.repeat(6));
        let parts = restored(wall.trim());
        assert!(parts.len() >= 2, "{open}: {parts:?}");
        assert!(
            parts.iter().any(|p| p.contains(&quoted.trim().to_string())),
            "{open}: the quotation stays in one paragraph: {parts:#?}"
        );
    }
    // A quotation mark never closed does not hold the rest of the wall together.
    let wall = format!("“{}", sentence.repeat(20));
    assert!(restored(wall.trim()).len() >= 3);
}
