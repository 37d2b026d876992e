"""A Ceasefire client generated from the service's own OpenAPI document
(openapi-python-client): post an incident with its claims, read the
attribution, print weekly counts by accuser side, and read a validation
problem's pointer.

    openapi-python-client generate --url http://127.0.0.1:8080/openapi.json
    python client.py http://127.0.0.1:8080 "$KEY"
"""

import sys
import uuid

from ceasefire_client import AuthenticatedClient, Client
from ceasefire_client.api.incidents import create_incident
from ceasefire_client.api.stats import incident_stats
from ceasefire_client.models import (
    IncidentStatsGroupByItem,
    IncidentStatsInterval,
    IncidentView,
    NewIncident,
    Problem,
    Stats,
)

base_url, key = (sys.argv[1:] + ["http://127.0.0.1:8080", ""])[:2]
# Reads need no key; writes do (the script's writes fail without one).
client = AuthenticatedClient(base_url=base_url, token=key) if key else Client(base_url=base_url)

# 15 August 2023: Armenia's ministry says Azerbaijani forces fired near an
# EU patrol; Azerbaijan's ministry denies it; the EU mission confirms it
# was there.
story = {
    "occurred_at": "2023-08-15T11:00:00+04:00",
    "time_precision": "hour",
    "type": "small_arms_fire",
    "location": {"name": "Verin Shorzha", "border_sector": "gegharkunik-kalbajar", "country": "AM",
                 "lat": 40.1431, "lon": 45.6461},
    "title": "Fire reported near an EU monitoring patrol (python)",
    "claims": [
        {"claimant": "am-mod", "stance": "accuses", "target": "az-armed-forces",
         "stated_at": "2023-08-15T12:30:00+04:00"},
        {"claimant": "az-mod", "stance": "denies", "responds_to_index": 0, "stated_at": "2023-08-15T14:00:00+04:00"},
        {"claimant": "euma", "stance": "confirms", "stated_at": "2023-08-15T18:00:00+04:00"},
    ],
}

created = create_incident.sync(client=client, body=NewIncident.from_dict(story), idempotency_key=str(uuid.uuid4()))
assert isinstance(created, IncidentView), created
a = created.attribution
print(f"attribution: accusers {a.accusers}, accused {a.accused}, deniers {a.deniers}, denied {a.denied}")
assert (a.accusers, a.accused, a.deniers, a.denied, a.disputed) == (["am-mod"], ["az-armed-forces"], ["az-mod"], True, True)

counts = incident_stats.sync(client=client, interval=IncidentStatsInterval.WEEK, from_="2023-08-14", to="2023-08-21", tz="Asia/Baku",
                             group_by=[IncidentStatsGroupByItem.ACCUSER_SIDE])
assert isinstance(counts, Stats), counts
for bucket in counts.buckets:
    print(f"week of {bucket.period_start}: {bucket.accuser_side} {bucket.value}")
assert [(b.accuser_side, b.value) for b in counts.buckets] == [("armenia", counts.total)]
assert counts.total >= 1

invalid = create_incident.sync(client=client, body=NewIncident.from_dict({**story, "claims": [], "title": ""}))
assert isinstance(invalid, Problem), invalid
pointers = [e.pointer for e in invalid.errors or []]
print(f"problem {invalid.type_}: {pointers}")
assert invalid.type_ == "urn:ceasefire:problem:validation" and "/title" in pointers
print("python client: ok")
