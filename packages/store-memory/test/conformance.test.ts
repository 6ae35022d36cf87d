import { runPortConformance } from '@mqtt-broker/core/testing';
import { createMemoryPorts } from '../src/index.js';

runPortConformance('memory', async () => ({ ports: createMemoryPorts() }));
