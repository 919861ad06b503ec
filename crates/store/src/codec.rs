//! Compact encoding of a series' samples, Gorilla-style at byte granularity: timestamps as
//! zigzag varints of their delta-of-delta (one byte for a regular scrape interval), values
//! XORed with the previous one and stored without their leading and trailing zero bytes
//! (a header nibble each). Lossless.

use crate::Sample;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends the encoding of `samples` (time-ordered) to `out`.
pub fn encode(samples: &[Sample], out: &mut Vec<u8>) {
    put_varint(out, samples.len() as u64);
    let (mut prev_t, mut prev_delta, mut prev_bits) = (0i64, 0i64, 0u64);
    for (i, &(t, v)) in samples.iter().enumerate() {
        let delta = t.wrapping_sub(prev_t);
        put_varint(
            out,
            zigzag(if i == 0 {
                t
            } else {
                delta.wrapping_sub(prev_delta)
            }),
        );
        prev_delta = if i == 0 { 0 } else { delta };
        prev_t = t;
        let bits = v.to_bits();
        let x = bits ^ prev_bits;
        prev_bits = bits;
        let bytes = x.to_be_bytes();
        let lead = bytes.iter().take_while(|b| **b == 0).count().min(8);
        let trail = if lead == 8 {
            0
        } else {
            bytes.iter().rev().take_while(|b| **b == 0).count()
        };
        out.push(((lead as u8) << 4) | trail as u8);
        out.extend_from_slice(&bytes[lead..8 - trail]);
    }
}

/// Decodes one encoded series starting at `pos`; `None` when the data is truncated.
pub fn decode(data: &[u8], pos: &mut usize) -> Option<Vec<Sample>> {
    let n = get_varint(data, pos)? as usize;
    let mut out = Vec::with_capacity(n.min(1 << 20));
    let (mut prev_t, mut prev_delta, mut prev_bits) = (0i64, 0i64, 0u64);
    for i in 0..n {
        let dod = unzigzag(get_varint(data, pos)?);
        let t = if i == 0 {
            dod
        } else {
            let delta = prev_delta.wrapping_add(dod);
            prev_delta = delta;
            prev_t.wrapping_add(delta)
        };
        prev_t = t;
        let header = *data.get(*pos)?;
        *pos += 1;
        let (lead, trail) = ((header >> 4) as usize, (header & 0x0f) as usize);
        if lead > 8 || lead + trail > 8 {
            return None;
        }
        let len = 8 - lead - trail;
        let mut bytes = [0u8; 8];
        bytes[lead..lead + len].copy_from_slice(data.get(*pos..*pos + len)?);
        *pos += len;
        let bits = u64::from_be_bytes(bytes) ^ prev_bits;
        prev_bits = bits;
        out.push((t, f64::from_bits(bits)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn regular_series_are_small() {
        let samples: Vec<Sample> = (0..1000).map(|i| (1_700_000_000 + i * 15, 0.25)).collect();
        let mut out = vec![];
        encode(&samples, &mut out);
        assert!(out.len() < 2 * 1000 + 20, "{} bytes", out.len());
        let mut pos = 0;
        assert_eq!(decode(&out, &mut pos).unwrap(), samples);
    }

    proptest! {
        #[test]
        fn round_trips(samples in proptest::collection::vec((any::<i64>(), any::<f64>()), 0..200)) {
            let mut out = vec![];
            encode(&samples, &mut out);
            let mut pos = 0;
            let back = decode(&out, &mut pos).unwrap();
            prop_assert_eq!(back.len(), samples.len());
            for (a, b) in back.iter().zip(&samples) {
                prop_assert_eq!(a.0, b.0);
                prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
            }
            prop_assert_eq!(pos, out.len());
        }

        #[test]
        fn truncated_input_is_none_not_a_panic(samples in proptest::collection::vec((0i64..1_000_000, 0.0f64..10.0), 1..50), cut in 0usize..100) {
            let mut out = vec![];
            encode(&samples, &mut out);
            let cut = cut.min(out.len().saturating_sub(1));
            let mut pos = 0;
            let _ = decode(&out[..cut], &mut pos);
        }
    }
}
