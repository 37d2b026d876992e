//! The settlements along the Armenia–Azerbaijan border and the former line
//! of contact that the reference incidents name, loaded by `ceasefire
//! seed`: each with its names in English transliterations, Armenian,
//! Azerbaijani and Russian, its administrative areas (Armenia's marzes;
//! Azerbaijan's economic regions and districts, as of the 2021 division)
//! and approximate coordinates of the settlement's centre.

use serde_json::json;

use crate::domain::place::NewPlace;

/// slug, name, alternate names, country, admin1, admin2, lat, lon.
type SeedPlace =
    (&'static str, &'static str, &'static [&'static str], &'static str, &'static str, Option<&'static str>, f64, f64);

pub const PLACES: &[SeedPlace] = &[
    // Armenia: Gegharkunik, facing Kalbajar.
    (
        "vardenis",
        "Vardenis",
        &["Վարդենիս", "Варденис", "Basarkechar", "Basarkeçər", "Basargechar", "Басаргечар"],
        "AM",
        "Gegharkunik",
        None,
        40.1833,
        45.7333,
    ),
    (
        "verin-shorzha",
        "Verin Shorzha",
        &["Վերին Շորժա", "Верин Шоржа", "Yukhari Shorzha", "Yuxarı Şorca"],
        "AM",
        "Gegharkunik",
        None,
        40.1431,
        45.6461,
    ),
    ("sotk", "Sotk", &["Սոթք", "Сотк", "Zod", "Зод"], "AM", "Gegharkunik", None, 40.2167, 45.8667),
    ("kut", "Kut", &["Կութ", "Кут"], "AM", "Gegharkunik", None, 40.2353, 45.8250),
    ("norabak", "Norabak", &["Նորաբակ", "Норабак"], "AM", "Gegharkunik", None, 40.1000, 45.8167),
    // Armenia: Vayots Dzor and Syunik.
    ("jermuk", "Jermuk", &["Ջերմուկ", "Джермук", "Istisu"], "AM", "Vayots Dzor", None, 39.8417, 45.6722),
    ("khachik", "Khachik", &["Խաչիկ", "Хачик"], "AM", "Vayots Dzor", None, 39.5967, 45.2344),
    ("goris", "Goris", &["Գորիս", "Горис", "Gorus"], "AM", "Syunik", None, 39.5111, 46.3419),
    ("tegh", "Tegh", &["Տեղ", "Тех", "Tekh"], "AM", "Syunik", None, 39.5583, 46.4811),
    ("kapan", "Kapan", &["Կապան", "Капан", "Qafan", "Ghapan"], "AM", "Syunik", None, 39.2075, 46.4058),
    ("nerkin-hand", "Nerkin Hand", &["Ներքին Հանդ", "Неркин Ханд"], "AM", "Syunik", None, 39.1333, 46.4833),
    ("ishkhanasar", "Ishkhanasar", &["Իշխանասար", "Ишханасар", "Kirs"], "AM", "Syunik", None, 39.4333, 46.3667),
    // Armenia: Ararat, facing Nakhchivan.
    ("yeraskh", "Yeraskh", &["Երասխ", "Ерасх", "Arazdayan"], "AM", "Ararat", None, 39.7436, 44.8139),
    // Armenia: Tavush, facing Gazakh and Tovuz.
    ("berd", "Berd", &["Բերդ", "Берд"], "AM", "Tavush", None, 40.8808, 45.3917),
    ("chinari", "Chinari", &["Չինարի", "Чинари"], "AM", "Tavush", None, 40.9333, 45.4333),
    ("aygepar", "Aygepar", &["Այգեպար", "Айгепар"], "AM", "Tavush", None, 40.9500, 45.4500),
    ("movses", "Movses", &["Մովսես", "Мовсес"], "AM", "Tavush", None, 40.9167, 45.4667),
    (
        "nerkin-karmiraghbyur",
        "Nerkin Karmiraghbyur",
        &["Ներքին Կարմիրաղբյուր", "Неркин Кармирахбюр"],
        "AM",
        "Tavush",
        None,
        40.9833,
        45.3667,
    ),
    ("voskepar", "Voskepar", &["Ոսկեպար", "Воскепар", "Askipara", "Əskipara"], "AM", "Tavush", None, 41.0667, 45.0500),
    ("kirants", "Kirants", &["Կիրանց", "Киранц"], "AM", "Tavush", None, 41.0167, 45.1000),
    ("noyemberyan", "Noyemberyan", &["Նոյեմբերյան", "Ноемберян"], "AM", "Tavush", None, 41.1725, 44.9997),
    // Azerbaijan: East Zangezur.
    (
        "kalbajar",
        "Kalbajar",
        &["Kəlbəcər", "Kelbajar", "Kelbadjar", "Karvachar", "Քարվաճառ", "Кельбаджар", "Карвачар"],
        "AZ",
        "East Zangezur",
        Some("Kalbajar District"),
        40.1047,
        46.0389,
    ),
    (
        "lachin",
        "Lachin",
        &["Laçın", "Berdzor", "Բերձոր", "Лачин", "Бердзор"],
        "AZ",
        "East Zangezur",
        Some("Lachin District"),
        39.6383,
        46.5461,
    ),
    (
        "gubadli",
        "Gubadli",
        &["Qubadlı", "Kubatly", "Kashunik", "Քաշունիք", "Кубатлы"],
        "AZ",
        "East Zangezur",
        Some("Gubadli District"),
        39.3444,
        46.5797,
    ),
    (
        "zangilan",
        "Zangilan",
        &["Zəngilan", "Kovsakan", "Կովսական", "Зангелан"],
        "AZ",
        "East Zangezur",
        Some("Zangilan District"),
        39.0856,
        46.6525,
    ),
    // Azerbaijan: Karabakh.
    (
        "khankendi",
        "Khankendi",
        &["Xankəndi", "Stepanakert", "Ստեփանակերտ", "Ханкенди", "Степанакерт"],
        "AZ",
        "Karabakh",
        None,
        39.8153,
        46.7519,
    ),
    (
        "shusha",
        "Shusha",
        &["Şuşa", "Shushi", "Շուշի", "Шуша"],
        "AZ",
        "Karabakh",
        Some("Shusha District"),
        39.7579,
        46.7479,
    ),
    (
        "aghdam",
        "Aghdam",
        &["Ağdam", "Akna", "Ակնա", "Агдам"],
        "AZ",
        "Karabakh",
        Some("Aghdam District"),
        39.9911,
        46.9297,
    ),
    (
        "khojaly",
        "Khojaly",
        &["Xocalı", "Ivanyan", "Իվանյան", "Ходжалы"],
        "AZ",
        "Karabakh",
        Some("Khojaly District"),
        39.9133,
        46.7903,
    ),
    (
        "khojavend",
        "Khojavend",
        &["Xocavənd", "Martuni", "Մարտունի", "Ходжавенд"],
        "AZ",
        "Karabakh",
        Some("Khojavend District"),
        39.7950,
        47.1100,
    ),
    (
        "fuzuli",
        "Fuzuli",
        &["Füzuli", "Varanda", "Վարանդա", "Физули"],
        "AZ",
        "Karabakh",
        Some("Fuzuli District"),
        39.6003,
        47.1431,
    ),
    // Azerbaijan: Gazakh-Tovuz, facing Tavush.
    (
        "gazakh",
        "Gazakh",
        &["Qazax", "Kazakh", "Ղազախ", "Казах"],
        "AZ",
        "Gazakh-Tovuz",
        Some("Gazakh District"),
        41.0933,
        45.3661,
    ),
    ("tovuz", "Tovuz", &["Товуз", "Tavuz"], "AZ", "Gazakh-Tovuz", Some("Tovuz District"), 40.9922, 45.6281),
    (
        "aghdam-tovuz",
        "Aghdam (Tovuz)",
        &["Ağdam (Tovuz)", "Агдам (Товуз)"],
        "AZ",
        "Gazakh-Tovuz",
        Some("Tovuz District"),
        40.9000,
        45.5500,
    ),
    // Azerbaijan: Nakhchivan.
    ("sadarak", "Sadarak", &["Sədərək", "Садарак"], "AZ", "Nakhchivan", Some("Sadarak District"), 39.7147, 44.8744),
];

/// The seed places as a client would write them.
pub fn places() -> Vec<NewPlace> {
    PLACES
        .iter()
        .map(|(slug, name, alt, country, admin1, admin2, lat, lon)| {
            serde_json::from_value(json!({
                "slug": slug, "name": name, "alt_names": alt, "country": country,
                "admin1": admin1, "admin2": admin2, "lat": lat, "lon": lon,
            }))
            .expect("the seed places are valid")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_seed_place_is_valid_and_unique() {
        let places = super::places();
        let mut slugs: Vec<&str> = places.iter().map(|p| p.slug.as_str()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), places.len());
        for p in &places {
            let mut errors = Vec::new();
            p.check(&mut errors);
            assert!(errors.is_empty(), "{}: {errors:?}", p.slug.as_str());
        }
    }
}
