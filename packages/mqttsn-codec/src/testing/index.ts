export { type SnFixture, snFixtures, snMalformed } from './fixtures.js';
