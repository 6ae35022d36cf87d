export { type PacketFixture, packetFixtures } from './fixtures.js';
