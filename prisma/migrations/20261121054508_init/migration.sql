-- CreateEnum
CREATE TYPE "ToolStatus" AS ENUM ('DRAFT', 'ACTIVE', 'DEPRECATED', 'DISABLED');

-- CreateEnum
CREATE TYPE "AbTestStatus" AS ENUM ('DRAFT', 'RUNNING', 'STOPPED', 'COMPLETED');

-- CreateTable
CREATE TABLE "Tool" (
    "id" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "platform" VARCHAR(64) NOT NULL,
    "version" VARCHAR(64) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "category" VARCHAR(64) NOT NULL,
    "status" "ToolStatus" NOT NULL DEFAULT 'ACTIVE',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "isLatest" BOOLEAN NOT NULL DEFAULT false,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "parentId" UUID,
    "executionLocation" VARCHAR(128),
    "defaults" JSONB NOT NULL DEFAULT '{}',
    "dependencies" JSONB NOT NULL DEFAULT '[]',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "examples" JSONB NOT NULL DEFAULT '[]',
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "deletedAt" TIMESTAMP(3),
    "deletedBy" VARCHAR(128),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" VARCHAR(128) NOT NULL DEFAULT 'system',
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedBy" VARCHAR(128) NOT NULL DEFAULT 'system',

    CONSTRAINT "Tool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Capability" (
    "id" UUID NOT NULL,
    "toolId" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "position" INTEGER NOT NULL DEFAULT 0,
    "metadata" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "Capability_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Pattern" (
    "id" UUID NOT NULL,
    "capabilityId" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "position" INTEGER NOT NULL DEFAULT 0,
    "typicalUseCases" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "timeEstimateMs" TEXT,
    "costEstimate" TEXT,
    "complexityScore" DOUBLE PRECISION,
    "scope" VARCHAR(64),
    "completeness" VARCHAR(64),
    "limitations" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "policy" JSONB NOT NULL DEFAULT '{}',
    "preferenceMatch" JSONB NOT NULL DEFAULT '{}',
    "requiredInputs" JSONB NOT NULL DEFAULT '[]',
    "optionalInputs" JSONB NOT NULL DEFAULT '[]',
    "expectedOutputs" JSONB NOT NULL DEFAULT '[]',
    "examples" JSONB NOT NULL DEFAULT '[]',
    "metadata" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "Pattern_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ToolExecution" (
    "id" UUID NOT NULL,
    "toolId" UUID NOT NULL,
    "capability" VARCHAR(128),
    "pattern" VARCHAR(128),
    "success" BOOLEAN NOT NULL,
    "durationMs" INTEGER NOT NULL,
    "cost" DOUBLE PRECISION,
    "inputSize" INTEGER,
    "errorMessage" TEXT,
    "context" JSONB NOT NULL DEFAULT '{}',
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ToolExecution_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "actor" VARCHAR(128) NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "entityType" VARCHAR(64) NOT NULL,
    "entityId" VARCHAR(128),
    "entityName" VARCHAR(256),
    "diff" JSONB NOT NULL DEFAULT '{}',
    "reason" TEXT,
    "clientIp" VARCHAR(64),
    "userAgent" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "keyHash" VARCHAR(128) NOT NULL,
    "role" VARCHAR(16) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AbTest" (
    "id" UUID NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "capability" VARCHAR(128),
    "status" "AbTestStatus" NOT NULL DEFAULT 'DRAFT',
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdBy" VARCHAR(128) NOT NULL DEFAULT 'system',

    CONSTRAINT "AbTest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AbTestVariant" (
    "id" UUID NOT NULL,
    "testId" UUID NOT NULL,
    "name" VARCHAR(64) NOT NULL,
    "toolId" UUID NOT NULL,
    "weight" DOUBLE PRECISION NOT NULL DEFAULT 1,

    CONSTRAINT "AbTestVariant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AbTestAssignment" (
    "id" UUID NOT NULL,
    "testId" UUID NOT NULL,
    "variantId" UUID NOT NULL,
    "subjectKey" VARCHAR(256) NOT NULL,
    "assignedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AbTestAssignment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AbTestOutcome" (
    "id" UUID NOT NULL,
    "testId" UUID NOT NULL,
    "variantId" UUID NOT NULL,
    "subjectKey" VARCHAR(256),
    "success" BOOLEAN NOT NULL,
    "durationMs" INTEGER,
    "cost" DOUBLE PRECISION,
    "recordedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AbTestOutcome_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CatalogReload" (
    "id" UUID NOT NULL,
    "trigger" VARCHAR(32) NOT NULL,
    "actor" VARCHAR(128),
    "source" VARCHAR(512) NOT NULL,
    "dryRun" BOOLEAN NOT NULL DEFAULT false,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "durationMs" INTEGER,
    "created" INTEGER NOT NULL DEFAULT 0,
    "newVersions" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "removed" INTEGER NOT NULL DEFAULT 0,
    "rejected" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "CatalogReload_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "CatalogEvent" (
    "revision" BIGSERIAL NOT NULL,
    "type" VARCHAR(64) NOT NULL,
    "toolName" VARCHAR(128),
    "platform" VARCHAR(64),
    "toolId" UUID,
    "version" VARCHAR(64),
    "payload" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CatalogEvent_pkey" PRIMARY KEY ("revision")
);

-- CreateIndex
CREATE INDEX "Tool_latest_enabled_name_idx" ON "Tool"("name", "platform") WHERE ("isLatest" AND "enabled" AND "deletedAt" IS NULL);

-- CreateIndex
CREATE INDEX "Tool_platform_idx" ON "Tool"("platform");

-- CreateIndex
CREATE INDEX "Tool_category_idx" ON "Tool"("category");

-- CreateIndex
CREATE INDEX "Tool_status_idx" ON "Tool"("status");

-- CreateIndex
CREATE INDEX "Tool_tags_idx" ON "Tool" USING GIN ("tags");

-- CreateIndex
CREATE UNIQUE INDEX "Tool_name_platform_version_key" ON "Tool"("name", "platform", "version");

-- CreateIndex
CREATE UNIQUE INDEX "Tool_latest_key" ON "Tool"("name", "platform") WHERE ("isLatest");

-- CreateIndex
CREATE INDEX "Capability_name_idx" ON "Capability"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Capability_toolId_name_key" ON "Capability"("toolId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Pattern_capabilityId_name_key" ON "Pattern"("capabilityId", "name");

-- CreateIndex
CREATE INDEX "ToolExecution_toolId_startedAt_idx" ON "ToolExecution"("toolId", "startedAt");

-- CreateIndex
CREATE INDEX "ToolExecution_startedAt_idx" ON "ToolExecution"("startedAt");

-- CreateIndex
CREATE INDEX "AuditLog_entityType_entityId_idx" ON "AuditLog"("entityType", "entityId");

-- CreateIndex
CREATE INDEX "AuditLog_actor_idx" ON "AuditLog"("actor");

-- CreateIndex
CREATE INDEX "AuditLog_createdAt_idx" ON "AuditLog"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_name_key" ON "ApiKey"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_keyHash_key" ON "ApiKey"("keyHash");

-- CreateIndex
CREATE UNIQUE INDEX "AbTest_name_key" ON "AbTest"("name");

-- CreateIndex
CREATE INDEX "AbTestVariant_toolId_idx" ON "AbTestVariant"("toolId");

-- CreateIndex
CREATE UNIQUE INDEX "AbTestVariant_testId_name_key" ON "AbTestVariant"("testId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "AbTestAssignment_testId_subjectKey_key" ON "AbTestAssignment"("testId", "subjectKey");

-- CreateIndex
CREATE INDEX "AbTestOutcome_testId_variantId_idx" ON "AbTestOutcome"("testId", "variantId");

-- CreateIndex
CREATE INDEX "CatalogReload_startedAt_idx" ON "CatalogReload"("startedAt");

-- CreateIndex
CREATE INDEX "CatalogEvent_createdAt_idx" ON "CatalogEvent"("createdAt");

-- AddForeignKey
ALTER TABLE "Tool" ADD CONSTRAINT "Tool_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Tool"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Capability" ADD CONSTRAINT "Capability_toolId_fkey" FOREIGN KEY ("toolId") REFERENCES "Tool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Pattern" ADD CONSTRAINT "Pattern_capabilityId_fkey" FOREIGN KEY ("capabilityId") REFERENCES "Capability"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ToolExecution" ADD CONSTRAINT "ToolExecution_toolId_fkey" FOREIGN KEY ("toolId") REFERENCES "Tool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestVariant" ADD CONSTRAINT "AbTestVariant_testId_fkey" FOREIGN KEY ("testId") REFERENCES "AbTest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestVariant" ADD CONSTRAINT "AbTestVariant_toolId_fkey" FOREIGN KEY ("toolId") REFERENCES "Tool"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestAssignment" ADD CONSTRAINT "AbTestAssignment_testId_fkey" FOREIGN KEY ("testId") REFERENCES "AbTest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestAssignment" ADD CONSTRAINT "AbTestAssignment_variantId_fkey" FOREIGN KEY ("variantId") REFERENCES "AbTestVariant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestOutcome" ADD CONSTRAINT "AbTestOutcome_testId_fkey" FOREIGN KEY ("testId") REFERENCES "AbTest"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AbTestOutcome" ADD CONSTRAINT "AbTestOutcome_variantId_fkey" FOREIGN KEY ("variantId") REFERENCES "AbTestVariant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
