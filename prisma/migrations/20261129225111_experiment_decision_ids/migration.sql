-- Decision ids that carry an experiment assignment: a per-experiment signing secret (a volatile default, so
-- each existing experiment gets its own), and room in ToolExecution.decisionId for the unit such an id carries.
-- AlterTable
ALTER TABLE "Experiment" ADD COLUMN     "decisionKey" VARCHAR(64) NOT NULL DEFAULT replace(((gen_random_uuid())::text || (gen_random_uuid())::text), '-'::text, ''::text);

-- AlterTable
ALTER TABLE "ToolExecution" ALTER COLUMN "decisionId" SET DATA TYPE VARCHAR(512);
