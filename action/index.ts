/** The Action's entry point, bundled by ncc into dist/action/index.js (action.yml runs it). */
import { run } from "./main.js";

void run();
