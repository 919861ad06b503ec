//! The webhook's certificates, as pure functions: a CA and a serving certificate it signs,
//! kept as the data of one Secret (`tls.crt`, `tls.key`, `ca.crt`, `ca.key` — the same keys
//! cert-manager writes, plus the CA's key), and the decision whether to renew them.
//!
//! Lifetimes: the CA lives 10 years, the serving certificate 1 year; the serving
//! certificate is renewed when it has less than `RENEW_BEFORE_DAYS` left (or when the names
//! it must cover changed), the CA when it has less than a year left. A renewed CA keeps the
//! old one in `ca.crt` (the caBundle) until the old one expires, so pods of the API server
//! that still hold the previous serving certificate's chain keep trusting it.
//!
//! Expiry is recorded beside the PEM (`not-after` keys, RFC 3339) so no X.509 parser is
//! needed; the certificates carry day precision.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

pub const TLS_CRT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const TLS_NOT_AFTER: &str = "tls.not-after";
pub const CA_NOT_AFTER: &str = "ca.not-after";
/// The names (DNS names and IP addresses) the serving certificate covers, comma-separated.
pub const TLS_NAMES: &str = "tls.names";

pub const CA_DAYS: i64 = 3650;
pub const SERVING_DAYS: i64 = 365;
/// A serving certificate with fewer days left than this is renewed.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// A CA with fewer days left than this is replaced.
pub const CA_RENEW_BEFORE_DAYS: i64 = 365;
const CA_COMMON_NAME: &str = "prescale-webhook-ca";

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("making a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the webhook Secret's {key} is missing or not valid: {why}")]
    BadSecret { key: &'static str, why: String },
}

/// The certificates as they are kept (a Secret's `data`, decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CertBundle(pub BTreeMap<String, String>);

impl CertBundle {
    fn get(&self, key: &'static str) -> Result<&str, CertError> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(CertError::BadSecret {
                key,
                why: "missing".into(),
            })
    }

    fn time(&self, key: &'static str) -> Result<Timestamp, CertError> {
        self.get(key)?
            .parse()
            .map_err(|e: jiff::Error| CertError::BadSecret {
                key,
                why: e.to_string(),
            })
    }

    /// The serving chain and key (PEM).
    pub fn serving(&self) -> Result<(&str, &str), CertError> {
        Ok((self.get(TLS_CRT)?, self.get(TLS_KEY)?))
    }

    /// The PEM API servers trust (`caBundle`).
    pub fn ca_bundle(&self) -> Result<&str, CertError> {
        self.get(CA_CRT)
    }
}

/// What to do with the certificates found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// They are fine until `until`.
    Keep { until: Timestamp },
    /// Write these instead (why: for logs and Events).
    Replace { bundle: CertBundle, why: String },
}

/// Decides, for the bundle `found` (none: nothing kept yet), the names the serving
/// certificate must cover and the time `now`, whether to keep it or what to replace it
/// with. A bundle that cannot be read is replaced.
pub fn renew(
    found: Option<&CertBundle>,
    names: &[String],
    now: Timestamp,
) -> Result<Renewal, CertError> {
    let Some(found) = found else {
        return issue_all(names, now, None).map(|bundle| Renewal::Replace {
            bundle,
            why: "no certificate yet".into(),
        });
    };
    let check = || -> Result<Option<String>, CertError> {
        found.serving()?;
        found.get(CA_KEY)?;
        let ca_until = found.time(CA_NOT_AFTER)?;
        if ca_until < now + (CA_RENEW_BEFORE_DAYS * 24).hours() {
            return Ok(Some(format!("the CA expires at {ca_until}")));
        }
        Ok(None)
    };
    match check() {
        Err(e) => {
            return issue_all(names, now, None).map(|bundle| Renewal::Replace {
                bundle,
                why: e.to_string(),
            });
        }
        Ok(Some(why)) => {
            return issue_all(names, now, Some(found))
                .map(|bundle| Renewal::Replace { bundle, why });
        }
        Ok(None) => {}
    }
    let until = found.time(TLS_NOT_AFTER)?;
    let covered = found.get(TLS_NAMES).unwrap_or_default();
    let why = if covered != names.join(",") {
        Some(format!("the names changed (had {covered:?})"))
    } else if until < now + (RENEW_BEFORE_DAYS * 24).hours() {
        Some(format!("it expires at {until}"))
    } else {
        None
    };
    match why {
        None => Ok(Renewal::Keep {
            until: until - (RENEW_BEFORE_DAYS * 24).hours(),
        }),
        Some(why) => {
            let ca_key = KeyPair::from_pem(found.get(CA_KEY)?)?;
            let mut bundle = found.clone();
            issue_serving(&mut bundle, &ca_key, names, now)?;
            Ok(Renewal::Replace { bundle, why })
        }
    }
}

/// Sets a certificate's validity, in whole UTC days (what `rcgen::date_time_ymd` takes).
fn validity(params: &mut CertificateParams, from: Timestamp, until: Timestamp) {
    let ymd = |t: Timestamp| {
        let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
        rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
    };
    params.not_before = ymd(from);
    params.not_after = ymd(until);
}

fn ca_params(now: Timestamp) -> Result<CertificateParams, CertError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, now - 24.hours(), now + (CA_DAYS * 24).hours());
    Ok(params)
}

/// A new CA (keeping the still-valid CA of `previous` in the bundle) and serving cert.
fn issue_all(
    names: &[String],
    now: Timestamp,
    previous: Option<&CertBundle>,
) -> Result<CertBundle, CertError> {
    let ca_key = KeyPair::generate()?;
    let ca = ca_params(now)?.self_signed(&ca_key)?;
    let mut ca_pem = ca.pem();
    if let Some(old) = previous.and_then(|p| p.get(CA_CRT).ok()) {
        // Only the old bundle's first certificate: older ones have expired by now.
        let first_end = old.find("-----END CERTIFICATE-----");
        if let Some(end) = first_end {
            ca_pem.push_str(&old[..end + "-----END CERTIFICATE-----".len()]);
            ca_pem.push('\n');
        }
    }
    let mut bundle = CertBundle::default();
    bundle.0.insert(CA_CRT.into(), ca_pem);
    bundle.0.insert(CA_KEY.into(), ca_key.serialize_pem());
    bundle.0.insert(
        CA_NOT_AFTER.into(),
        (now + (CA_DAYS * 24).hours()).to_string(),
    );
    issue_serving(&mut bundle, &ca_key, names, now)?;
    Ok(bundle)
}

/// Signs a serving certificate for `names` with the CA whose key is `ca_key`. The CA's
/// certificate is rebuilt from the same parameters and key: a signature only needs the
/// issuer's name and key, which are unchanged.
fn issue_serving(
    bundle: &mut CertBundle,
    ca_key: &KeyPair,
    names: &[String],
    now: Timestamp,
) -> Result<(), CertError> {
    let ca = ca_params(now)?.self_signed(ca_key)?;
    let mut params = CertificateParams::new(names.to_vec())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.first().cloned().unwrap_or_else(|| "prescale".into()),
    );
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(
        &mut params,
        now - 24.hours(),
        now + (SERVING_DAYS * 24).hours(),
    );
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &ca, ca_key)?;
    bundle.0.insert(TLS_CRT.into(), cert.pem());
    bundle.0.insert(TLS_KEY.into(), key.serialize_pem());
    bundle.0.insert(
        TLS_NOT_AFTER.into(),
        (now + (SERVING_DAYS * 24).hours()).to_string(),
    );
    bundle.0.insert(TLS_NAMES.into(), names.join(","));
    Ok(())
}

/// The names a serving certificate covers: the Service's DNS names in `namespace`, plus
/// loopback (an operator run outside the cluster, registered by URL) and `extra` hosts.
pub fn serving_names(service: &str, namespace: &str, extra: &[String]) -> Vec<String> {
    let mut names = vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
        format!("{service}.{namespace}"),
        service.to_string(),
        "localhost".into(),
        "127.0.0.1".into(),
    ];
    for e in extra {
        if !names.contains(e) {
            names.push(e.clone());
        }
    }
    names
}

#[cfg(test)]
#[path = "certs_tests.rs"]
mod tests;
