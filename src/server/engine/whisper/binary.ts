/** Where `serve --engine whisper` finds whisper-server unless told: scripts/build-whisper.sh links its cached build here. */
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';

export const WHISPER_SERVER_BINARY = path.join(PACKAGE_ROOT, 'build', 'whisper-server');
