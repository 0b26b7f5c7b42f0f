#!/bin/sh
# How nsec.test.zone and nsec3.test.zone were made (BIND 9's dnssec-keygen and dnssec-signzone,
# Debian bind9-utils), kept for when the zones must change: run in an empty directory with the
# unsigned zone text (the records above the first RRSIG in either file) as ZONE.unsigned.
# Signatures are valid from 2026-01-01 to 2046-01-01; NSEC3 has no salt, 0 extra iterations
# (RFC 9276 §3.1) and opt-out, so the unsigned delegations have no NSEC3 of their own.
set -e
for z in nsec.test nsec3.test; do
    dnssec-keygen -q -a ECDSAP256SHA256 -n ZONE "$z"
    dnssec-keygen -q -a ECDSAP256SHA256 -f KSK -n ZONE "$z"
done
dnssec-signzone -S -K . -N keep -o nsec.test -s 20260101000000 -e 20460101000000 -f nsec.test.zone nsec.test.unsigned
dnssec-signzone -S -K . -N keep -o nsec3.test -3 - -H 0 -A -s 20260101000000 -e 20460101000000 \
    -f nsec3.test.zone nsec3.test.unsigned
