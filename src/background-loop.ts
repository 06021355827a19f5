// A task run over and over in the background: the next run starts a fixed delay after the last
// one ended (never two at once, however long one takes), and `stop` waits for the run in flight,
// so a draining node closes the store only after the task let go of it. A run that fails is
// reported to `onError`, and the loop goes on.

export class BackgroundLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly task: () => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.task()
        .then(() => undefined)
        .catch((err: unknown) => {
          try {
            this.onError(err);
          } catch {
            // A failing reporter must not stop the loop.
          }
        })
        .finally(() => {
          if (this.timer !== undefined) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
