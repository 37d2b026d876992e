//! Who accused whom: the attribution derived from an incident's claims.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Stance;

/// The facts of one claim that attribution needs.
#[derive(Debug, Clone)]
pub struct ClaimFacts {
    pub id: Uuid,
    pub claimant: String,
    pub stance: Stance,
    pub target: Option<String>,
    pub responds_to: Option<Uuid>,
    /// An editor voided it: it counts nowhere, as if never made.
    pub voided: bool,
}

/// An incident's attribution, derived from its standing claims (a claim is
/// standing unless it was voided or a standing retraction by its claimant
/// answers it; retractions themselves count nowhere). A `not_observed`
/// never makes an incident denied or disputed: a monitor that saw nothing
/// where it was present says nothing about who fired elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "accusers": ["am-mod"], "accused": ["az-armed-forces"], "deniers": ["az-mod"],
    "confirmers": ["euma"], "acknowledged_by": [], "observed_by": [], "not_observed_by": [],
    "denied": true, "disputed": true
}))]
pub struct Attribution {
    /// Claimants of standing accusations.
    pub accusers: BTreeSet<String>,
    /// Targets of standing accusations.
    pub accused: BTreeSet<String>,
    /// Claimants of standing denials.
    pub deniers: BTreeSet<String>,
    /// Claimants of standing confirmations.
    pub confirmers: BTreeSet<String>,
    /// Claimants of standing acknowledgements.
    pub acknowledged_by: BTreeSet<String>,
    /// Claimants of standing `observes`.
    pub observed_by: BTreeSet<String>,
    /// Claimants of standing `not_observed`.
    pub not_observed_by: BTreeSet<String>,
    /// Every party with a standing claim other than a retraction.
    #[serde(skip)]
    pub claimants: BTreeSet<String>,
    /// The claims that count: standing, and not retractions.
    #[serde(skip)]
    pub counted: BTreeSet<Uuid>,
    /// Claims, retractions included, that a standing retraction answers.
    #[serde(skip)]
    pub retracted: BTreeSet<Uuid>,
    /// Some standing accusation is answered by a standing denial from the
    /// accused's side: a denial that responds to it, or a denial that names
    /// no claim (it then answers every accusation against its side).
    pub denied: bool,
    /// Accused and denied, and nobody acknowledged responsibility.
    pub disputed: bool,
}

impl Attribution {
    /// Derives the attribution. `side_of` gives a party's side (its
    /// top-most ancestor).
    pub fn derive<'s>(all: &[ClaimFacts], side_of: impl Fn(&str) -> Option<&'s str>) -> Self {
        let live: Vec<ClaimFacts> = all.iter().filter(|c| !c.voided).cloned().collect();
        let claims = &live[..];
        let by_id: HashMap<Uuid, &ClaimFacts> = claims.iter().map(|c| (c.id, c)).collect();
        let retractions_of: HashMap<Uuid, Vec<&ClaimFacts>> = claims
            .iter()
            .filter(|c| c.stance == Stance::Retracts)
            .filter_map(|r| {
                let answered = by_id.get(&r.responds_to?)?;
                (answered.claimant == r.claimant).then_some((answered.id, r))
            })
            .fold(HashMap::new(), |mut m, (id, r)| {
                m.entry(id).or_insert_with(Vec::new).push(r);
                m
            });
        // A claim stands unless one of its retractions stands. Claims only
        // answer earlier claims, so the chain ends.
        fn stands(c: &ClaimFacts, retractions_of: &HashMap<Uuid, Vec<&ClaimFacts>>, depth: usize) -> bool {
            depth > 1000
                || !retractions_of.get(&c.id).is_some_and(|rs| rs.iter().any(|r| stands(r, retractions_of, depth + 1)))
        }
        let mut a = Attribution::default();
        let mut standing: Vec<&ClaimFacts> = Vec::new();
        for c in claims {
            if !stands(c, &retractions_of, 0) {
                a.retracted.insert(c.id);
            } else if c.stance != Stance::Retracts {
                standing.push(c);
            }
        }
        for c in &standing {
            a.counted.insert(c.id);
            a.claimants.insert(c.claimant.clone());
            match c.stance {
                Stance::Accuses => {
                    a.accusers.insert(c.claimant.clone());
                    if let Some(t) = &c.target {
                        a.accused.insert(t.clone());
                    }
                }
                Stance::Denies => {
                    a.deniers.insert(c.claimant.clone());
                }
                Stance::Confirms => {
                    a.confirmers.insert(c.claimant.clone());
                }
                Stance::Acknowledges => {
                    a.acknowledged_by.insert(c.claimant.clone());
                }
                Stance::Observes => {
                    a.observed_by.insert(c.claimant.clone());
                }
                Stance::NotObserved => {
                    a.not_observed_by.insert(c.claimant.clone());
                }
                Stance::Retracts => {}
            }
        }
        a.denied = standing.iter().filter(|c| c.stance == Stance::Accuses).any(|accusation| {
            let accused_side = accusation.target.as_deref().and_then(&side_of);
            standing.iter().filter(|c| c.stance == Stance::Denies).any(|denial| {
                let answers = denial.responds_to.is_none_or(|id| id == accusation.id);
                answers && accused_side.is_some() && side_of(&denial.claimant) == accused_side
            })
        });
        a.disputed = !a.accused.is_empty() && a.denied && a.acknowledged_by.is_empty();
        a
    }

    /// The (role, party) rows stored for filtering.
    pub fn roles(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let sets: [(&'static str, &BTreeSet<String>); 8] = [
            ("accuser", &self.accusers),
            ("accused", &self.accused),
            ("denier", &self.deniers),
            ("confirmer", &self.confirmers),
            ("acknowledger", &self.acknowledged_by),
            ("observer", &self.observed_by),
            ("non_observer", &self.not_observed_by),
            ("claimant", &self.claimants),
        ];
        sets.into_iter().flat_map(|(role, set)| set.iter().map(move |p| (role, p.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(n: u128, claimant: &str, stance: Stance, target: Option<&str>, responds_to: Option<u128>) -> ClaimFacts {
        ClaimFacts {
            id: Uuid::from_u128(n),
            claimant: claimant.into(),
            stance,
            target: target.map(Into::into),
            responds_to: responds_to.map(Uuid::from_u128),
            voided: false,
        }
    }

    fn side(p: &str) -> Option<&'static str> {
        match p {
            "am-mod" | "armenia" => Some("armenia"),
            "az-mod" | "az-armed-forces" | "azerbaijan" => Some("azerbaijan"),
            "euma" | "eu" => Some("eu"),
            _ => None,
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn verin_shorzha() {
        let mut claims = vec![
            claim(1, "am-mod", Stance::Accuses, Some("az-armed-forces"), None),
            claim(2, "az-mod", Stance::Denies, None, Some(1)),
            claim(3, "euma", Stance::Confirms, None, None),
        ];
        let a = Attribution::derive(&claims, side);
        assert_eq!(a.accusers, set(&["am-mod"]));
        assert_eq!(a.accused, set(&["az-armed-forces"]));
        assert_eq!(a.deniers, set(&["az-mod"]));
        assert_eq!(a.confirmers, set(&["euma"]));
        assert!(a.denied && a.disputed);

        claims.push(claim(4, "az-mod", Stance::Retracts, None, Some(2)));
        let a = Attribution::derive(&claims, side);
        assert!(a.deniers.is_empty());
        assert!(!a.denied && !a.disputed);

        // Retracting the retraction restores the denial.
        claims.push(claim(5, "az-mod", Stance::Retracts, None, Some(4)));
        let a = Attribution::derive(&claims, side);
        assert!(a.denied);
    }

    #[test]
    fn a_voided_claim_counts_nowhere_and_a_monitor_that_saw_nothing_denies_nothing() {
        let mut claims = vec![
            claim(1, "am-mod", Stance::Accuses, Some("az-armed-forces"), None),
            claim(2, "az-mod", Stance::Denies, None, Some(1)),
            claim(3, "euma", Stance::NotObserved, None, None),
            claim(4, "am-mod", Stance::Retracts, None, Some(1)),
        ];
        let a = Attribution::derive(&claims, side);
        assert!(a.accusers.is_empty() && !a.denied);
        assert_eq!(a.retracted, [Uuid::from_u128(1)].into());
        assert_eq!(a.not_observed_by, set(&["euma"]));
        // Voiding the mis-entered retraction restores the accusation.
        claims[3].voided = true;
        let a = Attribution::derive(&claims, side);
        assert_eq!(a.accusers, set(&["am-mod"]));
        assert!(a.denied && a.disputed, "the denial disputes it; the monitor's not_observed changes nothing");
        assert!(a.retracted.is_empty());
        assert!(!a.counted.contains(&Uuid::from_u128(4)));
        claims[1].voided = true;
        assert!(!Attribution::derive(&claims, side).denied);
    }

    #[test]
    fn denial_from_another_side_does_not_deny() {
        let claims = vec![
            claim(1, "am-mod", Stance::Accuses, Some("az-armed-forces"), None),
            claim(2, "euma", Stance::Denies, None, Some(1)),
        ];
        let a = Attribution::derive(&claims, side);
        assert!(!a.denied);
    }

    #[test]
    fn acknowledgement_ends_dispute() {
        let claims = vec![
            claim(1, "am-mod", Stance::Accuses, Some("az-armed-forces"), None),
            claim(2, "az-mod", Stance::Denies, None, None),
            claim(3, "az-armed-forces", Stance::Acknowledges, None, None),
        ];
        let a = Attribution::derive(&claims, side);
        assert!(a.denied);
        assert!(!a.disputed);
    }

    #[test]
    fn retraction_of_someone_elses_claim_is_ignored() {
        let claims = vec![
            claim(1, "am-mod", Stance::Accuses, Some("az-armed-forces"), None),
            claim(2, "az-mod", Stance::Retracts, None, Some(1)),
        ];
        let a = Attribution::derive(&claims, side);
        assert_eq!(a.accusers, set(&["am-mod"]));
    }
}
