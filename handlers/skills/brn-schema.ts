/**
 * The BRN database that the Skill App's GitHub bot, its web UI and its crud service share:
 * the three tables the sync writes, as the Skill App's SQLAlchemy models define them
 * (Bioinformed-Skill-App `sync/models.py`, the same in `webui/app/models/models.py`). Their
 * table and column names are a contract: the other services read them.
 */

/** How a column is read and written. */
export type ColumnKind = "int" | "varchar" | "text" | "bool" | "datetime";

export interface Column {
  kind: ColumnKind;
  /** VARCHAR length, in characters; SQLAlchemy's String(n). */
  length?: number;
  /** What a TEXT column holds, in bytes of UTF-8. */
  maxBytes?: number;
}

export interface BrnTable {
  name: string;
  /** The primary key column. */
  key: string;
  columns: Record<string, Column>;
  /** Columns with a UNIQUE index besides the key. */
  unique?: string[];
  /** Foreign keys: column → `table(column)`. */
  references?: Record<string, string>;
  /** Columns other services own: the sync never writes them. */
  ownedElsewhere?: string[];
}

const INT: Column = { kind: "int" };
const STRING: Column = { kind: "varchar", length: 250 };
const TEXT: Column = { kind: "text", maxBytes: 65_535 };
const BOOL: Column = { kind: "bool" };
const DATETIME: Column = { kind: "datetime" };

export const ASSESSMENTS: BrnTable = {
  name: "assessments",
  key: "id",
  unique: ["name"],
  columns: {
    id: INT,
    name: STRING,
    description: STRING,
    core_skill_areas: STRING,
    languages: STRING,
    types: STRING,
    template_repo: STRING,
    latest_release: STRING,
    prerequisites: STRING,
    long_description: TEXT,
    review_required: BOOL,
    github_org: STRING,
    repo_prefix: STRING,
    install_id: STRING,
  },
};

export const BADGES: BrnTable = {
  name: "badges",
  key: "entityId",
  unique: ["name"],
  columns: {
    entityId: STRING,
    entityType: STRING,
    openBadgeId: STRING,
    createdAt: DATETIME,
    createdBy: STRING,
    issuer: STRING,
    issuerOpenBadgeId: STRING,
    name: STRING,
    image: STRING,
    description: TEXT,
    achievementType: STRING,
    criteriaUrl: STRING,
    criteriaNarrative: TEXT,
    alignments: STRING,
    tags: STRING,
    expires: TEXT,
    extensions: TEXT,
  },
};

export const ASSERTIONS: BrnTable = {
  name: "assertions",
  key: "entityId",
  references: { badgeclass: "badges(entityId)", assessment_tracker_id: "assessment_tracker(id)" },
  // The crud service sets it when it issues a badge for an assessment; Badgr does not know it.
  ownedElsewhere: ["assessment_tracker_id"],
  columns: {
    entityId: STRING,
    entityType: STRING,
    openBadgeId: STRING,
    createdAt: DATETIME,
    createdBy: STRING,
    badgeclass: STRING,
    recipient_identity: { kind: "varchar", length: 500 },
    recipient_hashed: BOOL,
    recipient_type: STRING,
    recipient_plaintextIdentity: STRING,
    recipient_salt: STRING,
    issuedOn: DATETIME,
    narrative: TEXT,
    evidence_url: STRING,
    evidence_narrative: TEXT,
    revoked: BOOL,
    revocationReason: STRING,
    acceptance: STRING,
    expires: DATETIME,
    share_url: TEXT,
    linkedin_add_profile_url: TEXT,
    twitter_share_url: TEXT,
    facebook_share_url: TEXT,
    linkedin_share_url: TEXT,
    embed_card_html: TEXT,
    embed_badge_html: TEXT,
    assessment_tracker_id: INT,
  },
};

/** The columns the sync writes: all but those other services own. */
export function writtenColumns(table: BrnTable): string[] {
  return Object.keys(table.columns).filter((c) => !table.ownedElsewhere?.includes(c));
}
