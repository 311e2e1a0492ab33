import { describeShellMatrix } from "./matrix.js";

describeShellMatrix("OpenSSH");
