/** Corridor configuration (dev/corridors.json shape). The Control DO holds the live state. */
import { z } from 'zod';

const corridorSchema = z.strictObject({
  id: z.string().regex(/^[A-Z]{3}-[A-Z]{3}$/),
  source_currency: z.string().regex(/^[A-Z]{3}$/),
  target_currency: z.string().regex(/^[A-Z]{3}$/),
  fx_provider: z.string().regex(/^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$/).nullable(),
  fx_rate: z.string().regex(/^[0-9]+\.[0-9]+$/).nullable(),
  jurisdictions: z.array(z.enum(['eu', 'us', 'ap'])).min(1),
  window_duration_ms: z.number().int().min(100).max(3_600_000),
  legs_max: z.number().int().min(2).max(100_000),
  shards: z.number().int().min(1).max(64),
  state: z.enum(['open', 'paused', 'draining']),
});

const corridorFileSchema = z.strictObject({
  fx_rate_scale: z.number().int().min(0).max(18),
  corridors: z.array(corridorSchema),
});

export type CorridorConfig = z.infer<typeof corridorSchema>;
export type CorridorFile = z.infer<typeof corridorFileSchema>;
export type CorridorState = CorridorConfig['state'];

let cached: { source: string; file: CorridorFile } | undefined;

export function corridorFile(source: string): CorridorFile {
  if (cached?.source === source) return cached.file;
  const file = corridorFileSchema.parse(JSON.parse(source));
  for (const corridor of file.corridors) {
    if (corridor.id !== `${corridor.source_currency}-${corridor.target_currency}`) {
      throw new Error(`CORRIDORS: corridor ${corridor.id} does not match its currencies`);
    }
    if ((corridor.fx_provider === null) !== (corridor.source_currency === corridor.target_currency)) {
      throw new Error(`CORRIDORS: corridor ${corridor.id} needs an FX provider exactly when its currencies differ`);
    }
  }
  cached = { source, file };
  return file;
}
