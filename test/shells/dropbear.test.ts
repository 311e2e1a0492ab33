import { describeShellMatrix } from "./matrix.js";

describeShellMatrix("Dropbear");
