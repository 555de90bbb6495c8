-- CreateEnum
CREATE TYPE "ExperimentStatus" AS ENUM ('DRAFT', 'RUNNING', 'STOPPED', 'CONCLUDED');

-- CreateEnum
CREATE TYPE "ExperimentMetric" AS ENUM ('SUCCESS_RATE', 'DURATION', 'COST');

-- DropForeignKey
ALTER TABLE "AbTestAssignment" DROP CONSTRAINT "AbTestAssignment_testId_fkey";

-- DropForeignKey
ALTER TABLE "AbTestAssignment" DROP CONSTRAINT "AbTestAssignment_variantId_fkey";

-- DropForeignKey
ALTER TABLE "AbTestOutcome" DROP CONSTRAINT "AbTestOutcome_testId_fkey";

-- DropForeignKey
ALTER TABLE "AbTestOutcome" DROP CONSTRAINT "AbTestOutcome_variantId_fkey";

-- DropForeignKey
ALTER TABLE "AbTestVariant" DROP CONSTRAINT "AbTestVariant_testId_fkey";

-- DropForeignKey
ALTER TABLE "AbTestVariant" DROP CONSTRAINT "AbTestVariant_toolId_fkey";

-- DropTable
DROP TABLE "AbTest";

-- DropTable
DROP TABLE "AbTestAssignment";

-- DropTable
DROP TABLE "AbTestOutcome";

-- DropTable
DROP TABLE "AbTestVariant";

-- DropEnum
DROP TYPE "AbTestStatus";

-- CreateTable
CREATE TABLE "Experiment" (
    "id" UUID NOT NULL,
    "key" VARCHAR(128) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "capability" VARCHAR(128) NOT NULL,
    "platform" VARCHAR(64) NOT NULL,
    "metric" "ExperimentMetric" NOT NULL,
    "coverage" DOUBLE PRECISION NOT NULL DEFAULT 1,
    "minimumSampleSize" INTEGER NOT NULL DEFAULT 150,
    "alpha" DOUBLE PRECISION NOT NULL DEFAULT 0.05,
    "seed" VARCHAR(128) NOT NULL,
    "status" "ExperimentStatus" NOT NULL DEFAULT 'DRAFT',
    "winner" VARCHAR(64),
    "startedAt" TIMESTAMP(3),
    "stoppedAt" TIMESTAMP(3),
    "concludedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" VARCHAR(128) NOT NULL DEFAULT 'system',
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Experiment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExperimentArm" (
    "id" UUID NOT NULL,
    "experimentId" UUID NOT NULL,
    "key" VARCHAR(64) NOT NULL,
    "position" INTEGER NOT NULL,
    "toolName" VARCHAR(128) NOT NULL,
    "toolPlatform" VARCHAR(64) NOT NULL,
    "toolVersion" VARCHAR(64),
    "pattern" VARCHAR(128),
    "weight" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "ExperimentArm_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Experiment_key_key" ON "Experiment"("key");

-- CreateIndex
CREATE INDEX "Experiment_status_idx" ON "Experiment"("status");

-- CreateIndex
CREATE UNIQUE INDEX "Experiment_running_key" ON "Experiment"("capability", "platform") WHERE ("status" = 'RUNNING'::"ExperimentStatus");

-- CreateIndex
CREATE INDEX "ExperimentArm_toolName_toolPlatform_idx" ON "ExperimentArm"("toolName", "toolPlatform");

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentArm_experimentId_key_key" ON "ExperimentArm"("experimentId", "key");

-- CreateIndex
CREATE UNIQUE INDEX "ExperimentArm_experimentId_position_key" ON "ExperimentArm"("experimentId", "position");

-- AddForeignKey
ALTER TABLE "ExperimentArm" ADD CONSTRAINT "ExperimentArm_experimentId_fkey" FOREIGN KEY ("experimentId") REFERENCES "Experiment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
