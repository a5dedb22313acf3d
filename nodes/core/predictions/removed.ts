// Replicate removes an API prediction's input, output and logs about an hour after it ends
// (data_removed: true, output null): a prediction fetched after that has nothing to give.
import { SentenceError, type Prediction } from '../http';

export class DataRemovedError extends SentenceError {
  override name = 'DataRemovedError';
  readonly code = 'data-removed';
  constructor(readonly prediction: Prediction) {
    super('removed.prediction', { id: prediction.id });
  }
}
