/**
 * A ManageSieve server (RFC 5804), {@link dev.twine.mail.managesieve.ManageSieveServer}, over the
 * users' Sieve scripts ({@link dev.twine.mail.sieve.SieveScripts}).
 */
package dev.twine.mail.managesieve;
