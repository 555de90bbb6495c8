-- The service never wrote this table before (the legacy insert could not succeed), and rows from
-- anywhere else have no idempotency key or pattern to be reported with, so they are dropped.
DELETE FROM "ToolExecution";

-- AlterTable
ALTER TABLE "ToolExecution" DROP COLUMN "context",
DROP COLUMN "inputSize",
ADD COLUMN     "costVariance" DOUBLE PRECISION,
ADD COLUMN     "decisionId" VARCHAR(128),
ADD COLUMN     "environment" VARCHAR(64),
ADD COLUMN     "errorType" VARCHAR(128),
ADD COLUMN     "estimatedCost" DOUBLE PRECISION,
ADD COLUMN     "estimatedTimeMs" DOUBLE PRECISION,
ADD COLUMN     "executionId" VARCHAR(128) NOT NULL,
ADD COLUMN     "patternId" UUID NOT NULL,
ADD COLUMN     "reportedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "reportedBy" VARCHAR(128) NOT NULL,
ADD COLUMN     "timeVarianceMs" DOUBLE PRECISION,
ADD COLUMN     "unitId" VARCHAR(256),
ADD COLUMN     "variables" JSONB NOT NULL DEFAULT '{}',
ALTER COLUMN "capability" SET NOT NULL,
ALTER COLUMN "pattern" SET NOT NULL,
ALTER COLUMN "durationMs" SET DATA TYPE DOUBLE PRECISION,
ALTER COLUMN "startedAt" DROP DEFAULT;

-- CreateTable
CREATE TABLE "ExecutionRollup" (
    "id" BIGSERIAL NOT NULL,
    "toolId" UUID NOT NULL,
    "patternId" UUID NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
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
    "compacted" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExecutionRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ExecutionRollup_patternId_hour_idx" ON "ExecutionRollup"("patternId", "hour");

-- CreateIndex
CREATE INDEX "ExecutionRollup_toolId_hour_idx" ON "ExecutionRollup"("toolId", "hour");

-- CreateIndex
CREATE INDEX "ExecutionRollup_hour_idx" ON "ExecutionRollup"("hour");

-- CreateIndex
CREATE INDEX "ExecutionRollup_pending_idx" ON "ExecutionRollup"("createdAt") WHERE (NOT "compacted");

-- CreateIndex
CREATE UNIQUE INDEX "ToolExecution_executionId_key" ON "ToolExecution"("executionId");

-- CreateIndex
CREATE INDEX "ToolExecution_patternId_startedAt_idx" ON "ToolExecution"("patternId", "startedAt");
