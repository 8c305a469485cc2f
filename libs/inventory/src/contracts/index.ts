/**
 * Messages inventory accepts and publishes. This file is inventory's API for other modules:
 * it imports nothing but zod, and a type name never changes once published (add a .v2 instead).
 */
export {};
