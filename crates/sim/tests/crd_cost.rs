//! The simulated cluster refuses CRDs whose CEL rules a real API server refuses for their
//! estimated cost, and only those: the same CRDs go to the real server of
//! ../shared/realk8s (as server-side dry runs: nothing is left there) and to the sim, and
//! both must accept or both refuse, naming the same rule.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::PostParams;
use prescale_sim::testing::TestCluster;
use serde_json::{Value, json};

fn rule(text: &str, mut schema: Value) -> Value {
    schema["x-kubernetes-validations"] = json!([{"rule": text}]);
    schema
}

fn crd(case: &str, field: Value) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{case}s.simcost.prescale.test")},
        "spec": {"group": "simcost.prescale.test", "scope": "Namespaced",
            "names": {"plural": format!("{case}s"), "kind": case.to_uppercase()},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema":
                {"type": "object", "properties": {"spec": {"type": "object", "properties": {"f": field}}}}}}]}
    }))
    .unwrap()
}

/// (case, schema of `.spec.f`)
fn cases() -> Vec<(&'static str, Value)> {
    let string = json!({"type": "string"});
    let object_a = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let regex = "self.matches('^[a-z]+$')";
    vec![
        ("toplevelregex", rule(regex, string.clone())),
        (
            "itemregex",
            json!({"type": "array", "items": rule(regex, string.clone())}),
        ),
        (
            "boundeditemregex",
            json!({"type": "array", "items": rule("self.name.matches('^[a-z]+$')",
                json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}}))}),
        ),
        (
            "boundedlistregex",
            rule(
                "self.all(x, x.matches('^a'))",
                json!({"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 10}}),
            ),
        ),
        (
            "unboundedlistregex",
            rule(
                "self.all(x, x.matches('^a'))",
                json!({"type": "array", "items": string.clone()}),
            ),
        ),
        (
            "itemcompare",
            json!({"type": "array", "items": rule("self.a > 0", object_a.clone())}),
        ),
        (
            "nestedcompare",
            json!({"type": "array", "items": {"type": "array", "items": rule("self.a > 0", object_a)}}),
        ),
        (
            "mapvaluesize",
            json!({"type": "object", "additionalProperties": rule("self.s.size() < 5",
                json!({"type": "object", "properties": {"s": string}}))}),
        ),
        (
            "mapintorstring",
            json!({"type": "object", "additionalProperties": {"type": "object", "properties": {"p": rule(
                "type(self) == int ? int(self) >= 0 : string(self).matches('^[0-9]+(\\\\.[0-9]+)?%?$')",
                json!({"x-kubernetes-int-or-string": true}))}}}),
        ),
    ]
}

#[tokio::test]
async fn the_sim_refuses_the_costly_rules_a_real_server_refuses() {
    let Some(real) = prescale_testkit::real_client("sim_crd_cost").await else {
        return;
    };
    let sim = TestCluster::start().await.unwrap();
    let real: Api<CustomResourceDefinition> = Api::all(real);
    let simulated: Api<CustomResourceDefinition> = Api::all(sim.client.clone());
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let mut refused = 0;
    for (case, field) in cases() {
        let crd = crd(case, field);
        let by_real = real.create(&dry_run, &crd).await;
        let by_sim = simulated.create(&PostParams::default(), &crd).await;
        match (by_real, by_sim) {
            (Ok(_), Ok(_)) => {}
            (Err(real), Err(sim)) => {
                refused += 1;
                let (real, sim) = (real.to_string(), sim.to_string());
                let budget = "estimated rule cost exceeds budget by factor of";
                assert!(
                    real.contains(budget) && sim.contains(budget),
                    "{case}: {real} / {sim}"
                );
                // The sim names a rule the real server names.
                let path = sim
                    .split("is invalid: ")
                    .nth(1)
                    .and_then(|m| m.trim_start_matches('[').split(": Forbidden").next())
                    .unwrap_or_default()
                    .to_string();
                assert!(
                    !path.is_empty() && real.contains(&path),
                    "{case}: {path} in {real}"
                );
            }
            (real, sim) => panic!(
                "{case}: the real server {} it, the sim {} it",
                if real.is_ok() { "accepts" } else { "refuses" },
                if sim.is_ok() { "accepts" } else { "refuses" }
            ),
        }
    }
    assert_eq!(refused, 4, "the costly cases are refused by both");
}
