/**
 * @switchboard/pagination: relay cursor connections over keyset (seek) queries.
 *
 * Nothing is exported yet: the implementation lands with issue #9.
 * @packageDocumentation
 */
export {};
