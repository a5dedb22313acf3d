// The model a training pushes its version to: it must exist and belong to the account. When it
// is missing, it is created as a private model on the hardware chosen (Replicate runs a trained
// version on its trainer's hardware anyway), or the message fails naming it.
import { InputError, parseOwnerName, ReplicateError, type CallOptions, type ReplicateClient } from '../http';

export interface DestinationOptions extends CallOptions {
  create: boolean;
  /** A SKU of GET /hardware, for a model created here. */
  hardware: string;
  /** Told before the model is created. */
  onCreating?: () => void;
}

/** `owner/name` of the destination, once it exists. */
export async function ensureDestination(client: ReplicateClient, ref: string, options: DestinationOptions): Promise<string> {
  const { owner, name } = parseOwnerName(ref, { key: 'field.destination' });
  const model = `${owner}/${name}`;
  const call = { signal: options.signal, onRetry: options.onRetry };
  try {
    await client.getModel(model, call);
    return model;
  } catch (err) {
    if (!(err instanceof ReplicateError) || err.code !== 'not-found') throw err;
  }
  if (!options.create) throw new InputError('training.noDestination', { model });
  options.onCreating?.();
  try {
    await client.createModel({ owner, name, visibility: 'private', hardware: options.hardware }, call);
  } catch (err) {
    // another message created it meanwhile: it is there, which is all that was wanted
    if (!(err instanceof ReplicateError) || err.code !== 'conflict') throw err;
  }
  return model;
}
