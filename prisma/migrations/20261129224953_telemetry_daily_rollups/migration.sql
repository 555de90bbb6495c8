-- CreateTable
CREATE TABLE "ExecutionRollupDaily" (
    "id" BIGSERIAL NOT NULL,
    "toolId" UUID NOT NULL,
    "patternId" UUID NOT NULL,
    "day" TIMESTAMP(3) NOT NULL,
    "runs" INTEGER NOT NULL,
    "successes" INTEGER NOT NULL,
    "durationSumMs" DOUBLE PRECISION NOT NULL,
    "costRuns" INTEGER NOT NULL,
    "costSum" DOUBLE PRECISION NOT NULL,
    "estimatedRuns" INTEGER NOT NULL,
    "durationSketch" BYTEA NOT NULL,
    "estimateSketch" BYTEA,
    "ratioSketch" BYTEA,
    "lastRunAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExecutionRollupDaily_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ExecutionRollupDaily_toolId_day_idx" ON "ExecutionRollupDaily"("toolId", "day");

-- CreateIndex
CREATE INDEX "ExecutionRollupDaily_day_idx" ON "ExecutionRollupDaily"("day");

-- CreateIndex
CREATE UNIQUE INDEX "ExecutionRollupDaily_patternId_day_key" ON "ExecutionRollupDaily"("patternId", "day");

-- CreateIndex
CREATE INDEX "ExecutionRollup_pending_pattern_idx" ON "ExecutionRollup"("patternId", "hour") WHERE (NOT "compacted");

-- Hourly roll-ups written before this migration are in no daily roll-up yet: mark them waiting, so
-- the compaction job folds each into its day (reads count a waiting row by itself until then, so
-- answers stay exact meanwhile). Stamped now, so the roll-up lag gauge measures from the migration.
UPDATE "ExecutionRollup" SET "compacted" = false, "createdAt" = CURRENT_TIMESTAMP WHERE "compacted";
