-- Issue 15: machine clients (client_credentials, private_key_jwt) and trusted identity providers (ID-JAG).

-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "jwks" JSONB,
ADD COLUMN     "jwksUri" TEXT;

-- AlterTable: a machine client's grants and tokens have no user.
ALTER TABLE "Grant" ALTER COLUMN "userId" DROP NOT NULL,
ADD COLUMN     "identityProviderId" TEXT;

-- AlterTable
ALTER TABLE "AccessToken" ALTER COLUMN "userId" DROP NOT NULL;

-- CreateTable
CREATE TABLE "IdentityProvider" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "jwksUri" TEXT,
    "jwks" JSONB,
    "allowNewUsers" BOOLEAN NOT NULL DEFAULT false,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "IdentityProvider_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "IdentityProvider_issuer_key" ON "IdentityProvider"("issuer");

-- CreateIndex
CREATE INDEX "Grant_identityProviderId_idx" ON "Grant"("identityProviderId");

-- AddForeignKey
ALTER TABLE "Grant" ADD CONSTRAINT "Grant_identityProviderId_fkey" FOREIGN KEY ("identityProviderId") REFERENCES "IdentityProvider"("id") ON DELETE SET NULL ON UPDATE CASCADE;
