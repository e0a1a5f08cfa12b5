// The executable's entry: run the CLI with the process's arguments.
import { main } from './main.js';

void main();
