import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFernetKeys, type FernetKeys } from '../airflow/fernet.js';
import { UserError } from '../cli/errors.js';
import { fileErrorReason } from './local.js';

/**
 * The key Astro CLI's Airflow 2 compose template sets for every local project (`AIRFLOW__CORE__FERNET_KEY` in the
 * services' `environment`, which overrides the project `.env`). Airflow 3 templates set none.
 */
export const ASTRO_AIRFLOW2_LOCAL_FERNET_KEY = 'd6Vefz3G9U_ynXB3cr7y_Ak35tAHkEGAVxuz_B-jzWw=';

export interface FernetKeyInputs {
  /** `--fernet-key`; `''` explicitly means "no key: plaintext", as Airflow does. */
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `dev.fernet_key_file`, resolved against the project root. */
  keyFile?: string;
  projectRoot: string;
  /** The project `.env` as parsed (only `AIRFLOW__CORE__FERNET_KEY` is read from it). */
  dotenv?: Readonly<Record<string, string>>;
}

export interface ResolvedFernetKey {
  /** Null when there is no key: rows are then written in plaintext with the flags false. */
  keys: FernetKeys | null;
  source: string;
}

/**
 * Astro Runtime images up to 12.x carry Airflow 2 and are tagged `x.y.z`; the Airflow 3 images are tagged
 * `<airflow major.minor>-<build>` (e.g. `runtime:3.1-2`). Only the former get the compose file's fixed key.
 */
function astroProjectUsesAirflow2(projectRoot: string): boolean {
  const dockerfile = join(projectRoot, 'Dockerfile');
  if (!existsSync(dockerfile)) return false;
  const from = /^\s*FROM\s+(\S*?)(?::([\w.-]+))?(?:\s|$)/im.exec(readFileSync(dockerfile, 'utf8'));
  if (!from || !/(astro-runtime|\/runtime)$/.test(from[1] ?? '')) return false;
  const tag = from[2] ?? '';
  return /^\d+\.\d+\.\d+/.test(tag) && !/^\d+\.\d+-\d+/.test(tag);
}

function fromSpec(spec: string, source: string): ResolvedFernetKey {
  if (spec === '') return { keys: null, source };
  return { keys: parseFernetKeys(spec, source), source };
}

/** DESIGN.md §The main job step 3: the first source that is set wins, and the answer names it. */
export function resolveFernetKey(inputs: FernetKeyInputs): ResolvedFernetKey {
  if (inputs.flag !== undefined) return fromSpec(inputs.flag, '--fernet-key');
  const env = inputs.env.AIRFLOW__CORE__FERNET_KEY;
  if (env !== undefined) return fromSpec(env, 'AIRFLOW__CORE__FERNET_KEY in the environment');
  if (inputs.keyFile) {
    let text: string;
    try {
      text = readFileSync(inputs.keyFile, 'utf8');
    } catch (err) {
      throw new UserError(`cannot read dev.fernet_key_file ${inputs.keyFile}: ${fileErrorReason(err)}`);
    }
    return fromSpec(text.trim(), `dev.fernet_key_file (${inputs.keyFile})`);
  }
  if (existsSync(join(inputs.projectRoot, '.astro')) && astroProjectUsesAirflow2(inputs.projectRoot)) {
    return fromSpec(ASTRO_AIRFLOW2_LOCAL_FERNET_KEY, "the Astro CLI's local Airflow 2 key (docker-compose)");
  }
  const fromDotenv = inputs.dotenv?.AIRFLOW__CORE__FERNET_KEY;
  if (fromDotenv !== undefined) return fromSpec(fromDotenv, 'AIRFLOW__CORE__FERNET_KEY in the project .env');
  return { keys: null, source: 'none' };
}
