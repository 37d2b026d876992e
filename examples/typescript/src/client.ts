// A Ceasefire client typed from the service's own OpenAPI document
// (`npm run generate` writes src/schema.d.ts with openapi-typescript), with
// no `any` and no casts: post an incident with its claims, read the
// attribution, print weekly counts by accuser side, and read a validation
// problem's pointer.
//
//   node dist/client.js http://127.0.0.1:8080 "$KEY"
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type NewIncident = components["schemas"]["NewIncident"];

const [baseUrl = "http://127.0.0.1:8080", key = process.env.CEASEFIRE_KEY ?? ""] = process.argv.slice(2);
// Answers come as JSON, problems as problem+json (CSV and the other formats
// are there for whoever asks for them).
const client = createClient<paths, "application/json" | "application/problem+json">({
  baseUrl,
  headers: key ? { Authorization: `Bearer ${key}` } : {},
});

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

// 15 August 2023: Armenia's ministry says Azerbaijani forces fired near an
// EU patrol; Azerbaijan's ministry denies it; the EU mission confirms it
// was there.
const incident: NewIncident = {
  occurred_at: "2023-08-15T11:00:00+04:00",
  time_precision: "hour",
  type: "small_arms_fire",
  location: { name: "Verin Shorzha", border_sector: "gegharkunik-kalbajar", country: "AM", lat: 40.1431, lon: 45.6461 },
  title: "Fire reported near an EU monitoring patrol",
  claims: [
    { claimant: "am-mod", stance: "accuses", target: "az-armed-forces", stated_at: "2023-08-15T12:30:00+04:00" },
    { claimant: "az-mod", stance: "denies", responds_to_index: 0, stated_at: "2023-08-15T14:00:00+04:00" },
    { claimant: "euma", stance: "confirms", stated_at: "2023-08-15T18:00:00+04:00" },
  ],
};

const created = await client.POST("/v1/incidents", {
  body: incident,
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
});
check(created.data !== undefined, `the incident was created (${created.response.status})`);
if (created.data) {
  const a = created.data.attribution;
  console.log(`attribution: accusers ${a.accusers.join(",")}, accused ${a.accused.join(",")}, deniers ${a.deniers.join(",")}, denied ${a.denied}`);
  check(a.accusers.join() === "am-mod" && a.accused.join() === "az-armed-forces", "accuser and accused");
  check(a.deniers.join() === "az-mod" && a.denied && a.disputed, "denied and disputed");
}

const counts = await client.GET("/v1/stats/incidents", {
  params: {
    query: { interval: "week", from: "2023-08-07", to: "2023-08-21", tz: "Asia/Baku", group_by: ["accuser_side"] },
  },
});
check(counts.data !== undefined, `the count was answered (${counts.response.status})`);
if (counts.data) {
  for (const bucket of counts.data.buckets) {
    console.log(`week of ${bucket.period_start}: ${bucket.accuser_side ?? "(nobody)"} ${bucket.value}`);
  }
  const week = counts.data.buckets.find((b) => b.period_start === "2023-08-14T00:00:00+04:00");
  check(week?.accuser_side === "armenia" && week.value === 1, "the week of 14 August has Armenia's accusation");
}

const invalid = await client.POST("/v1/incidents", { body: { ...incident, claims: [], title: "" } });
check(invalid.error !== undefined, "a blank title is refused");
if (invalid.error) {
  const pointers = (invalid.error.errors ?? []).map((e) => e.pointer);
  console.log(`problem ${invalid.error.type}: ${pointers.join(", ")}`);
  check(invalid.error.type === "urn:ceasefire:problem:validation", "a validation problem");
  check(pointers.includes("/title"), "the problem points at /title");
}
console.log("typescript client: ok");
