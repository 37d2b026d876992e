//! The closed vocabularies of the domain. Each is stored as its snake_case
//! name, which the database also checks.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{}` is not one of {}",
                        s.chars().take(60).collect::<String>(),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// What kind of actor a party is.
    PartyKind {
        State = "state",
        ArmedForces = "armed_forces",
        GovernmentBody = "government_body",
        MonitoringMission = "monitoring_mission",
        InternationalOrg = "international_org",
        Media = "media",
        Ngo = "ngo",
        Other = "other",
    }
);

vocabulary!(
    /// What happened.
    IncidentType {
        SmallArmsFire = "small_arms_fire",
        SniperFire = "sniper_fire",
        MortarFire = "mortar_fire",
        ArtilleryFire = "artillery_fire",
        RocketFire = "rocket_fire",
        DroneStrike = "drone_strike",
        AirspaceViolation = "airspace_violation",
        MineExplosion = "mine_explosion",
        BorderCrossing = "border_crossing",
        Detention = "detention",
        FortificationWorks = "fortification_works",
        Other = "other",
    }
);

vocabulary!(
    /// How precisely `occurred_at` is known.
    TimePrecision { Minute = "minute", Hour = "hour", Day = "day", Week = "week", Month = "month" }
);

vocabulary!(
    /// How precisely the location is known.
    LocationPrecision { Exact = "exact", Settlement = "settlement", District = "district", Region = "region" }
);

vocabulary!(
    /// The editors' verdict on an incident.
    Verification {
        Unverified = "unverified",
        Corroborated = "corroborated",
        Confirmed = "confirmed",
        Disputed = "disputed",
        Retracted = "retracted",
    }
);

vocabulary!(
    /// What a claim says.
    ///
    /// - `accuses`: the claimant says `target` violated the ceasefire (target required, on another side)
    /// - `denies`: the claimant rejects responsibility; `responds_to` names the accusation, if known
    /// - `confirms`: the incident happened; `target` optionally says who did it
    /// - `acknowledges`: the claimant admits its own responsibility
    /// - `retracts`: the claimant withdraws its own earlier claim (`responds_to` required)
    /// - `observes`: the claimant (usually a monitor) saw the incident itself; `target` optionally says who did it
    /// - `not_observed`: the claimant says it saw no such incident where it was present; no target
    Stance {
        Accuses = "accuses",
        Denies = "denies",
        Confirms = "confirms",
        Acknowledges = "acknowledges",
        Retracts = "retracts",
        Observes = "observes",
        NotObserved = "not_observed",
    }
);

vocabulary!(
    /// Where a claim stands.
    ///
    /// - `standing`: neither withdrawn nor voided; it counts, unless it is itself a `retracts`
    /// - `retracted`: a standing `retracts` by its claimant answers it
    /// - `voided`: an editor marked it mis-entered (`POST /v1/claims/{id}/void`)
    ClaimStatus { Standing = "standing", Retracted = "retracted", Voided = "voided" }
);

vocabulary!(
    /// What an API key may do; each role can do everything the roles
    /// before it can.
    ///
    /// - `reader`: read, when reads are private
    /// - `reporter`: create incidents and claims
    /// - `editor`: also change and delete incidents, set verification, manage parties
    /// - `admin`: also manage API keys
    Role { Reader = "reader", Reporter = "reporter", Editor = "editor", Admin = "admin" }
);
