//! The dimensions counts group by and filter on: the one list of them, each
//! with its name on the wire, where it applies, and how the rollups keep it.
//! The parser, the SQL of both count paths and the answer's fields all
//! come from here (a test checks the rollups' own SQL against it).

/// A dimension of a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Type,
    Verification,
    BorderSector,
    Country,
    Denied,
    /// Parties with a standing accusation about the incident.
    Accuser,
    /// Parties a standing accusation names.
    Accused,
    /// Parties with any standing claim about the incident (incident counts).
    Claimant,
    /// Sides of the accusers.
    AccuserSide,
    /// Sides of the accused.
    AccusedSide,
    /// The party that made the claim (claim counts).
    ClaimClaimant,
    /// The side of the claim's claimant.
    ClaimantSide,
    /// The claim's stance.
    Stance,
    /// The party the claim names.
    Target,
    /// The side of the claim's target.
    TargetSide,
    /// The incident's direction: `origin.country>location.country`.
    Direction,
    /// The incident's origin and location are in two different countries.
    CrossBorder,
    /// The direction of the claim's account: the account's origin country,
    /// `>`, its impact country (or, when the account names none, the
    /// incident's location country).
    ClaimDirection,
    /// The location's first-level administrative area.
    Admin1,
    /// The location's second-level area.
    Admin2,
}

/// What a count sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Incidents,
    Violations,
    Killed,
    Wounded,
    Claims,
}

impl Measure {
    pub fn name(self) -> &'static str {
        match self {
            Measure::Incidents => "incidents",
            Measure::Violations => "violations",
            Measure::Killed => "killed",
            Measure::Wounded => "wounded",
            Measure::Claims => "claims",
        }
    }
}

/// What a count counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Incidents,
    Claims,
}

impl Dimension {
    pub const ALL: [Dimension; 20] = [
        Dimension::Type,
        Dimension::Direction,
        Dimension::CrossBorder,
        Dimension::ClaimDirection,
        Dimension::Accuser,
        Dimension::Accused,
        Dimension::AccuserSide,
        Dimension::AccusedSide,
        Dimension::Claimant,
        Dimension::ClaimClaimant,
        Dimension::ClaimantSide,
        Dimension::Stance,
        Dimension::Target,
        Dimension::TargetSide,
        Dimension::Denied,
        Dimension::Verification,
        Dimension::BorderSector,
        Dimension::Country,
        Dimension::Admin1,
        Dimension::Admin2,
    ];

    /// Its name in `group_by` and in the answer's buckets.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Type => "type",
            Dimension::Verification => "verification",
            Dimension::BorderSector => "border_sector",
            Dimension::Country => "country",
            Dimension::Denied => "denied",
            Dimension::Accuser => "accuser",
            Dimension::Accused => "accused",
            Dimension::Claimant | Dimension::ClaimClaimant => "claimant",
            Dimension::AccuserSide => "accuser_side",
            Dimension::AccusedSide => "accused_side",
            Dimension::ClaimantSide => "claimant_side",
            Dimension::Stance => "stance",
            Dimension::Target => "target",
            Dimension::TargetSide => "target_side",
            Dimension::Direction | Dimension::ClaimDirection => "direction",
            Dimension::CrossBorder => "cross_border",
            Dimension::Admin1 => "admin1",
            Dimension::Admin2 => "admin2",
        }
    }

    /// Whether counts of `what` group by it.
    pub fn applies_to(self, what: Counted) -> bool {
        let of_the_incident = matches!(
            self,
            Dimension::Type
                | Dimension::Verification
                | Dimension::BorderSector
                | Dimension::Country
                | Dimension::Denied
                | Dimension::CrossBorder
                | Dimension::Admin1
                | Dimension::Admin2
        );
        match what {
            Counted::Incidents => of_the_incident || self.rollup_column().is_some() || self == Dimension::Direction,
            Counted::Claims => {
                of_the_incident
                    || matches!(
                        self,
                        Dimension::ClaimClaimant
                            | Dimension::ClaimantSide
                            | Dimension::Stance
                            | Dimension::Target
                            | Dimension::TargetSide
                            | Dimension::ClaimDirection
                    )
            }
        }
    }

    /// The dimensions counts of `what` group by, in the order of `ALL`.
    pub fn of(what: Counted) -> impl Iterator<Item = Dimension> {
        Self::ALL.into_iter().filter(move |d| d.applies_to(what))
    }

    /// The dimension named `s` in counts of `what`.
    pub fn parse(s: &str, what: Counted) -> Result<Self, String> {
        Self::of(what).find(|d| d.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Self::of(what).map(Dimension::name).collect();
            format!("`{}` is not one of {}", s.chars().take(80).collect::<String>(), names.join(", "))
        })
    }

    /// An incident may have several values (parties, sides).
    pub fn multi(self) -> bool {
        matches!(
            self,
            Dimension::Accuser
                | Dimension::Accused
                | Dimension::Claimant
                | Dimension::AccuserSide
                | Dimension::AccusedSide
        )
    }

    /// Its column in the rollups' `stat_current` (its name in
    /// `stat_single.dim` is `name`); `None` for the dimensions of claims,
    /// which the rollups do not keep.
    pub fn rollup_column(self) -> Option<&'static str> {
        Some(match self {
            Dimension::Type => "type",
            Dimension::Verification => "verification",
            Dimension::BorderSector => "border_sector",
            Dimension::Country => "country",
            Dimension::Denied => "denied",
            Dimension::Accuser => "accusers",
            Dimension::Accused => "accused",
            Dimension::Claimant => "claimants",
            Dimension::AccuserSide => "accuser_sides",
            Dimension::AccusedSide => "accused_sides",
            Dimension::Direction => "direction",
            Dimension::CrossBorder => "cross_border",
            _ => return None,
        })
    }

    /// The rollups also keep it two at a time with the others of these
    /// (few values each; by occurred date).
    pub fn paired(self) -> bool {
        matches!(
            self,
            Dimension::Type
                | Dimension::Verification
                | Dimension::Country
                | Dimension::Denied
                | Dimension::AccuserSide
                | Dimension::AccusedSide
        )
    }

    /// Its values are `true` and `false` (stored as text).
    pub fn boolean(self) -> bool {
        matches!(self, Dimension::Denied | Dimension::CrossBorder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_each_count_knows_its_own() {
        for what in [Counted::Incidents, Counted::Claims] {
            for d in Dimension::of(what) {
                assert_eq!(Dimension::parse(d.name(), what), Ok(d));
            }
        }
        let incidents: Vec<&str> = Dimension::of(Counted::Incidents).map(Dimension::name).collect();
        assert_eq!(
            incidents,
            [
                "type",
                "direction",
                "cross_border",
                "accuser",
                "accused",
                "accuser_side",
                "accused_side",
                "claimant",
                "denied",
                "verification",
                "border_sector",
                "country",
                "admin1",
                "admin2"
            ]
        );
        assert_eq!(Dimension::parse("claimant", Counted::Claims), Ok(Dimension::ClaimClaimant));
        assert_eq!(Dimension::parse("claimant", Counted::Incidents), Ok(Dimension::Claimant));
        assert_eq!(Dimension::parse("direction", Counted::Claims), Ok(Dimension::ClaimDirection));
        assert_eq!(Dimension::parse("direction", Counted::Incidents), Ok(Dimension::Direction));
        assert!(Dimension::parse("stance", Counted::Incidents)
            .unwrap_err()
            .contains("type, direction, cross_border, accuser"));
        assert!(Dimension::parse("accuser", Counted::Claims).is_err());
        // Every dimension the rollups keep is one of incidents.
        assert!(Dimension::ALL
            .iter()
            .filter(|d| d.rollup_column().is_some())
            .all(|d| d.applies_to(Counted::Incidents)));
    }
}
