import { swarmQuarter } from './swarm.js';

swarmQuarter(1);
