-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "dpopRequired" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "AccessToken" ADD COLUMN     "dpopJkt" TEXT;

-- AlterTable
ALTER TABLE "RefreshToken" ADD COLUMN     "dpopJkt" TEXT;

