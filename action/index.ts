/** The Action's entry point, bundled by ncc into dist/action/index.js (action.yml runs it). */
import { isPost, post, run } from "./main.js";

void (isPost() ? post() : run());
