//! Detection of moduli made by the Infineon RSALib key generator that is
//! weak to the ROCA attack (CVE-2017-15361).
//!
//! Such primes have the form k * M + (65537^a mod M), where M is the product
//! of the small primes below. So n mod p lies in the subgroup that 65537
//! generates modulo p, for every one of them. A random modulus passes that
//! test for all 38 primes with negligible probability, so the check has no
//! practical false positives, and it costs 38 short divisions.

const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

/// True when `n` (unsigned big-endian) carries the ROCA fingerprint.
pub(crate) fn has_roca_fingerprint(n: &[u8]) -> bool {
    PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, &b| ((acc << 8) | u32::from(b)) % p);
        in_subgroup_of_65537(residue, p)
    })
}

fn in_subgroup_of_65537(residue: u32, p: u32) -> bool {
    let generator = 65537 % p;
    let mut element = 1;
    // The subgroup has at most p - 1 elements; walk it until it repeats.
    for _ in 0..p {
        if element == residue {
            return true;
        }
        element = element * generator % p;
        if element == 1 {
            return residue == 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        // 65537 = 2 mod 3, so the subgroup mod 3 is {1, 2} and 0 is never in it.
        assert!(in_subgroup_of_65537(1, 3) && in_subgroup_of_65537(2, 3));
        assert!(!in_subgroup_of_65537(0, 3));
        // 65537 = 2 mod 5 generates {1, 2, 4, 3}.
        assert!((1..5).all(|r| in_subgroup_of_65537(r, 5)));
        // 65537 = 2 mod 17, of order 8: {1, 2, 4, 8, 16, 15, 13, 9}.
        let members: Vec<u32> = (0..17).filter(|&r| in_subgroup_of_65537(r, 17)).collect();
        assert_eq!(members, [1, 2, 4, 8, 9, 13, 15, 16]);
    }
}
