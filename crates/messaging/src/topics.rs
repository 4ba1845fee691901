//! The service topics a service card may be filed under (`GET /manage/services/topics`).
//! Sportello's own list, numbered so that the IO example (3 = "Benessere sociale") holds.

/// `(id, name)` of every topic.
pub const TOPICS: &[(i64, &str)] = &[
    (0, "Altro"),
    (1, "Ambiente e animali"),
    (2, "Attività produttive e commercio"),
    (3, "Benessere sociale"),
    (4, "Casa e utenze"),
    (5, "Cultura, tempo libero e sport"),
    (6, "Educazione e formazione"),
    (7, "Giustizia e legge"),
    (8, "Mobilità e trasporti"),
    (9, "Salute"),
    (10, "Sicurezza e protezione civile"),
    (11, "Tributi e pagamenti"),
    (12, "Urbanistica ed edilizia"),
    (13, "Viaggi e turismo"),
    (14, "Vita civile e partecipazione"),
    (15, "Lavoro"),
    (16, "Servizi anagrafici e civici"),
];

/// The name of topic `id`, if it exists.
pub fn topic_name(id: i64) -> Option<&'static str> {
    TOPICS.iter().find(|(i, _)| *i == id).map(|(_, n)| *n)
}
